# Fig. 6 (J&F against lambda, with and without FSL) and Table 5 (number of ISL samples at
# lambda = 1, without FSL) on the MSRC-v2 photographs (each run ~7 min on 2 cores):
#   python tools/run_experiments.py configs/studies/msrc_sweeps.py
seeds = [0, 1, 2]
_lambdas = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
_heads = {'without FSL': 'configs/hfpl/msrc/cam_effnet_msrc_isl.py',
          'with FSL': 'configs/hfpl/msrc/cam_effnet_msrc_isl_fsl.py'}
experiments = [
    dict(name=f'lambda {lam:g} {series}', config=config, group='J&F vs lambda', series=series,
         x=lam, xlabel='lambda (eq. 16)',
         cfg_options=[f'model.decode_head.loss_decode.0.loss_weight={1 - lam:g}',
                      f'model.decode_head.loss_decode.1.loss_weight={lam:g}'])
    for series, config in _heads.items() for lam in _lambdas
] + [
    dict(name=f'{n} samples', config='configs/hfpl/msrc/cam_effnet_msrc_isl.py',
         group='J&F vs ISL samples', series='lambda = 1, without FSL', x=n,
         xlabel='pixels sampled per class (eq. 18)',
         cfg_options=['model.decode_head.loss_decode.0.loss_weight=0',
                      'model.decode_head.loss_decode.1.loss_weight=1',
                      f'model.decode_head.loss_decode.1.num_samples={n}'])
    for n in (1, 5, 10, 50, 100)
]
