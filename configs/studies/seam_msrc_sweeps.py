# The paper's SEAM sweeps in the setting of configs/studies/seam_msrc.py (MSRC-v2, SEAM on an
# ImageNet EfficientNet-Lite0), 2 seeds:
#   python tools/run_experiments.py configs/studies/seam_msrc_sweeps.py --workers 2
# - Fig. 6: J&F against lambda (eq. 16) with and without FSL; lambda 0 is the run without ISL;
# - Table 5: J&F against the number of pixels ISL samples per class (eq. 18) at lambda = 1,
#   without FSL.
# Points equal to a run of seam_msrc.py (same resolved config and seed) reuse its result.
# Results: docs/results/seam_msrc_sweeps/.
seeds = [0, 1]
results_dir = 'docs/results/seam_msrc_sweeps'
reuse_results = ['docs/results/seam_msrc']
_dir = 'configs/hfpl/msrc/'
_series = {
    'without FSL': ('configs/seam/seam_effnet_msrc.py', _dir + 'seam_effnet_msrc_isl.py'),
    'with FSL': (_dir + 'seam_effnet_msrc_fsl.py', _dir + 'seam_effnet_msrc_isl_fsl.py'),
}
experiments = [
    dict(name=f'lambda {lam:g} {series}', config=isl if lam else plain, group='J&F vs lambda',
         series=series, x=lam, xlabel='lambda (eq. 16)',
         cfg_options=[f'model.decode_head.add_on.isl.lam={lam:g}'] if lam else [])
    for series, (plain, isl) in _series.items() for lam in (0.0, 0.1, 0.2, 0.4, 0.6, 1.0)
] + [
    dict(name=f'{n} samples', config=_dir + 'seam_effnet_msrc_isl.py',
         group='J&F vs ISL samples', series='lambda = 1, without FSL', x=n,
         xlabel='pixels sampled per class (eq. 18)',
         cfg_options=['model.decode_head.add_on.isl.lam=1',
                      f'model.decode_head.add_on.isl.num_samples={n}'])
    for n in (1, 5, 10, 50)
]
# the fixed- and sweep-best-threshold scores of every run (as seam_msrc.py's 'single scale')
pseudo_labels = [
    dict(name='single scale', seeds=[0, 1], args=['--scales', '1.0', '--no-flip', '--crf']),
]
