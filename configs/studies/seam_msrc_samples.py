# Table 5's sample count at the add-on's lambda = 0.2 instead of lambda = 1, in the setting of
# configs/studies/seam_msrc.py: at lambda = 1 (configs/studies/seam_msrc_sweeps.py) this SEAM
# stays at the all-absent classifier with 1, 5 or 10 samples (50 partly leave it), so that sweep
# cannot tell the counts apart. 2 seeds, without FSL:
#   python tools/run_experiments.py configs/studies/seam_msrc_samples.py --workers 2
# 10 samples is the run 'lambda 0.2 without FSL' of the sweeps study (reused with its labels).
# Results: docs/results/seam_msrc_samples/.
seeds = [0, 1]
results_dir = 'docs/results/seam_msrc_samples'
reuse_results = ['docs/results/seam_msrc_sweeps', 'docs/results/seam_msrc']
experiments = [
    dict(name=f'{n} samples', config='configs/hfpl/msrc/seam_effnet_msrc_isl.py',
         group='J&F vs ISL samples', series='lambda = 0.2, without FSL', x=n,
         xlabel='pixels sampled per class (eq. 18)',
         cfg_options=[f'model.decode_head.add_on.isl.num_samples={n}'])
    for n in (1, 5, 10, 50)
]
pseudo_labels = [
    dict(name='single scale', seeds=[0, 1], args=['--scales', '1.0', '--no-flip', '--crf']),
]
