# The add-on ablation on the embedded dataset: python tools/run_experiments.py configs/studies/synthetic.py
# J, F, J&F of the CAM pseudo-labels of the 240 training images (threshold labels, bg 0.3).
seeds = [0, 1, 2]
experiments = [
    dict(name='baseline (GAP)', config='configs/cam/cam_r18_demo_synthetic.py'),
    dict(name='+ISL', config='configs/hfpl/synthetic/isl_only.py'),
    dict(name='+FSL', config='configs/hfpl/synthetic/fsl_only.py'),
    dict(name='+ISL/FSL (binomial)', config='configs/hfpl/demo_synthetic.py'),
    dict(name='+ISL/FSL (multinomial)', config='configs/hfpl/synthetic/multinomial.py'),
]
