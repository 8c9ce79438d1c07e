# Does the add-on's boost reach the segmentor? SEAM +- the add-on through all three stages on the
# MSRC-v2 photographs (../shared/data/msrc_voc: 320 train, 80 val images of the class-stratified
# split of configs/_base_/datasets/msrc_split.py), the stage the paper's
# Tables 2 and 4 measure: configs/pipelines/seam_effnet_msrc.py (SEAM-EfficientNet CAMs ->
# CRF labels -> AffinityNet -> random walk -> DeepLabV3+ EfficientNet-Lite0 -> val, multi-scale +
# flip, with and without the dense CRF) and its add-on twins, 3 seeds; the same segmentor on the
# real masks (the supervised reference); SEAM and SEAM +ISL/FSL with a 4x longer CAM schedule (960
# iterations; CAM stage and its pseudo-labels), 2 seeds:
#   python tools/run_experiments.py configs/studies/seam_msrc_pipeline.py --workers 2
# results.md: J, F, J&F of each run's last stage (the test with the dense CRF; the 4x runs: their
# multi-scale CAM labels); stages.md / stages.csv / stages.png: every stage's scores (the CAM
# training's validation on the train images, the pseudo-labels' entries, the random walk's labels
# on the train images, the tests on val); differences.md / .csv: each variant's difference from
# SEAM per stage, in run-to-run standard deviations. Results (committed, so the study resumes on
# a fresh machine): docs/results/seam_msrc_pipeline/.
seeds = [0, 1, 2]
# differences.md: each variant against SEAM (the 4x add-on run against the 4x SEAM run) at the
# CAM labels (fixed threshold and sweep-best), the random walk and the tests, in points and in
# run-to-run standard deviations
baseline = 'SEAM'
compare_stages = ['pseudo_labels/cam', 'pseudo_labels/cam_sweep_best', 'random_walk/random_walk',
                  'test/test', 'test_crf/test']
results_dir = 'docs/results/seam_msrc_pipeline'
_dir = 'configs/pipelines/'
_4x = ['stages.cam.cfg_options.train_cfg.max_epochs=24',
       'stages.cam.cfg_options.train_cfg.val_interval=24',
       'stages.cam.cfg_options.param_scheduler.0.end=24',
       'stages.cam.cfg_options.default_hooks.checkpoint.interval=24']
experiments = [
    dict(name='SEAM', pipeline=_dir + 'seam_effnet_msrc.py'),
    dict(name='SEAM +ISL/FSL (binomial)', pipeline=_dir + 'hfpl_seam_effnet_msrc.py'),
    dict(name='supervised (GT masks)', pipeline=_dir + 'supervised_effnet_msrc.py'),
    dict(name='SEAM +FSL', pipeline=_dir + 'hfpl_seam_effnet_msrc_fsl.py'),
    dict(name='SEAM +ISL', pipeline=_dir + 'hfpl_seam_effnet_msrc_isl.py'),
    dict(name='SEAM, 4x CAM schedule', pipeline=_dir + 'seam_effnet_msrc.py', cfg_options=_4x,
         to='pseudo_labels', final='pseudo_labels/cam_sweep_best', seeds=[0, 1], priority=1),
    dict(name='SEAM +ISL/FSL (binomial), 4x CAM schedule',
         pipeline=_dir + 'hfpl_seam_effnet_msrc.py', cfg_options=_4x, to='pseudo_labels',
         final='pseudo_labels/cam_sweep_best', seeds=[0, 1], priority=1,
         baseline='SEAM, 4x CAM schedule'),
]
