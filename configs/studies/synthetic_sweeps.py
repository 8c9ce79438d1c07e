# The paper's Fig. 6 (J&F against lambda, with and without FSL) and Table 5 (number of ISL
# samples at lambda = 1, without FSL) on the embedded dataset:
#   python tools/run_experiments.py configs/studies/synthetic_sweeps.py
# lambda 0 is the run without ISL (the baseline, or FSL only), as in seam_msrc_sweeps.py; points
# equal to a row of synthetic.py resolve to the same config (same run key).
seeds = [0, 1, 2]
_series = {
    'without FSL': ('configs/cam/cam_r18_demo_synthetic.py', 'configs/hfpl/synthetic/isl_only.py'),
    'with FSL': ('configs/hfpl/synthetic/fsl_only.py', 'configs/hfpl/demo_synthetic.py'),
}
experiments = [
    dict(name=f'lambda {lam:g} {series}', config=isl if lam else plain, group='J&F vs lambda',
         series=series, x=lam, xlabel='lambda (eq. 16)',
         cfg_options=[f'model.decode_head.add_on.isl.lam={lam:g}'] if lam else [])
    for series, (plain, isl) in _series.items() for lam in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
] + [
    dict(name=f'{n} samples', config='configs/hfpl/synthetic/isl_only.py',
         group='J&F vs ISL samples', series='lambda = 1, without FSL', x=n,
         xlabel='pixels sampled per class (eq. 18)',
         cfg_options=['model.decode_head.add_on.isl.lam=1',
                      f'model.decode_head.add_on.isl.num_samples={n}'])
    for n in (1, 5, 10, 50, 100)
]
