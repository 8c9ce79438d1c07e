# Fig. 6 (J&F against lambda, with and without FSL) and Table 5 (number of ISL samples at
# lambda = 1, without FSL) on the MSRC-v2 photographs (each run ~7 min on 2 cores):
#   python tools/run_experiments.py configs/studies/msrc_sweeps.py
# lambda 0 is the run without ISL (the baseline, or FSL only), as in seam_msrc_sweeps.py; points
# equal to a row of msrc.py resolve to the same config (same run key).
seeds = [0, 1, 2]
_series = {
    'without FSL': ('configs/cam/cam_effnet_msrc.py', 'configs/hfpl/msrc/cam_effnet_msrc_isl.py'),
    'with FSL': ('configs/hfpl/msrc/cam_effnet_msrc_fsl.py',
                 'configs/hfpl/msrc/cam_effnet_msrc_isl_fsl.py'),
}
experiments = [
    dict(name=f'lambda {lam:g} {series}', config=isl if lam else plain, group='J&F vs lambda',
         series=series, x=lam, xlabel='lambda (eq. 16)',
         cfg_options=[f'model.decode_head.add_on.isl.lam={lam:g}'] if lam else [])
    for series, (plain, isl) in _series.items() for lam in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
] + [
    dict(name=f'{n} samples', config='configs/hfpl/msrc/cam_effnet_msrc_isl.py',
         group='J&F vs ISL samples', series='lambda = 1, without FSL', x=n,
         xlabel='pixels sampled per class (eq. 18)',
         cfg_options=['model.decode_head.add_on.isl.lam=1',
                      f'model.decode_head.add_on.isl.num_samples={n}'])
    for n in (1, 5, 10, 50, 100)
]
