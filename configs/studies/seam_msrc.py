# SEAM +- the add-on in SEAM's own setting at CPU scale: SEAM's siamese training, PCM, ER / ECR,
# stride-8 CAMs, x10 head learning rate and the momentum quirk, on an ImageNet EfficientNet-Lite0
# and the MSRC-v2 photographs (../shared/data/msrc_voc, 320 train images), 3 seeds:
#   python tools/run_experiments.py configs/studies/seam_msrc.py --workers 2
# J, F, J&F of the single-scale CAM labels of the 320 training images at the end of training
# (PCM-refined CAMs, background 0.26, SEAM's default). The seed-0 checkpoints also make the SEAM
# protocol's pseudo-labels (scales 0.5-2 + flip, min-max, CRF at each config's alphas), scored at
# the fixed threshold, at the sweep-best one, F at 0.25 and after the CRF (pseudo_labels.md).
# Results (committed, so the study resumes on a fresh machine): docs/results/seam_msrc/.
seeds = [0, 1, 2]
results_dir = 'docs/results/seam_msrc'
_dir = 'configs/hfpl/msrc/'
experiments = [
    dict(name='SEAM', config='configs/seam/seam_effnet_msrc.py'),
    dict(name='SEAM +ISL', config=_dir + 'seam_effnet_msrc_isl.py'),
    dict(name='SEAM +FSL', config=_dir + 'seam_effnet_msrc_fsl.py'),
    dict(name='SEAM +ISL/FSL (binomial)', config=_dir + 'seam_effnet_msrc_isl_fsl.py'),
    dict(name='SEAM +ISL/FSL (multinomial)', config=_dir + 'seam_effnet_msrc_multinomial.py'),
]
pseudo_labels = dict(seeds=[0], args=[])
