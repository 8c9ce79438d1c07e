# The add-on ablation on real photographs (MSRC-v2 copy in ../shared/data/msrc_voc, ImageNet
# EfficientNet-Lite0): python tools/run_experiments.py configs/studies/msrc.py
seeds = [0, 1, 2]
experiments = [
    dict(name='baseline (GAP)', config='configs/cam/cam_effnet_msrc.py'),
    dict(name='+ISL', config='configs/hfpl/msrc/cam_effnet_msrc_isl.py'),
    dict(name='+FSL', config='configs/hfpl/msrc/cam_effnet_msrc_fsl.py'),
    dict(name='+ISL/FSL (binomial)', config='configs/hfpl/msrc/cam_effnet_msrc_isl_fsl.py'),
    dict(name='+ISL/FSL (multinomial)', config='configs/hfpl/msrc/cam_effnet_msrc_multinomial.py'),
]
