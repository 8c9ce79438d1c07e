# Why configs/seam/seam_effnet_msrc.py trains with momentum 0.9: the same SEAM-EfficientNet runs
# with the official optimiser's momentum 5e-4 (SEAM's PolyOptimizer quirk), which at 240
# iterations leaves the network under-trained:
#   python tools/run_experiments.py configs/studies/seam_msrc_momentum.py --workers 2
# (seed 0 only was run; results: docs/results/seam_msrc_momentum/).
seeds = [0, 1]
results_dir = 'docs/results/seam_msrc_momentum'
_quirk = ['optim_wrapper.optimizer.momentum=0.0005']
experiments = [
    dict(name='SEAM', config='configs/seam/seam_effnet_msrc.py', cfg_options=_quirk),
    dict(name='SEAM +ISL', config='configs/hfpl/msrc/seam_effnet_msrc_isl.py',
         cfg_options=_quirk),
]
