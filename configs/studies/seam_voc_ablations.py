# The paper's SEAM ablations on VOC (GPU scale): Table 4 (binomial vs multinomial ISL / FSL),
# Table 5 (ISL samples at lambda = 1 without FSL), Fig. 6 (J&F against lambda with and without
# FSL) and the FSL gating r vs b. Needs the VOC data and the converted ResNet-38 weights:
#   python tools/run_experiments.py configs/studies/seam_voc_ablations.py
seeds = [0, 1, 2, 3, 4]
_dir = 'configs/hfpl/seam_ablations/'
_lambdas = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
experiments = [
    dict(name='SEAM baseline', config='configs/seam/seam_r38_voc.py'),
    dict(name='ISL multinomial', config=_dir + 'seam_voc_isl_multinomial.py'),
    dict(name='ISL binomial', config=_dir + 'seam_voc_isl_binomial.py'),
    dict(name='FSL multinomial', config=_dir + 'seam_voc_fsl_multinomial.py'),
    dict(name='FSL binomial', config=_dir + 'seam_voc_fsl_binomial.py'),
    dict(name='ISL + FSL (gating r)', config='configs/hfpl/seam_voc.py'),
    dict(name='ISL + FSL (gating b)', config=_dir + 'seam_voc_fsl_gate_b.py'),
] + [
    dict(name=f'{n} samples', config=_dir + 'seam_voc_isl_lambda1.py', group='J&F vs ISL samples',
         series='lambda = 1, without FSL', x=n, xlabel='pixels sampled per class (eq. 18)',
         cfg_options=[f'model.decode_head.add_on.isl.num_samples={n}'])
    for n in (1, 5, 10, 50, 100)
] + [
    dict(name=f'lambda {lam:g} {series}', config=config, group='J&F vs lambda', series=series,
         x=lam, xlabel='lambda (eq. 16)',
         cfg_options=[f'model.decode_head.add_on.isl.lam={lam:g}'])
    for series, config in (('without FSL', _dir + 'seam_voc_isl_binomial.py'),
                           ('with FSL', 'configs/hfpl/seam_voc.py'))
    for lam in _lambdas
]
