# SEAM +- the add-on in SEAM's own setting at CPU scale: SEAM's siamese training, PCM, ER / ECR,
# stride-8 CAMs, x10 head learning rate, on an ImageNet EfficientNet-Lite0 and the MSRC-v2
# photographs (../shared/data/msrc_voc, 320 train images), 3 seeds:
#   python tools/run_experiments.py configs/studies/seam_msrc.py --workers 2
# results.md: J, F, J&F of the single-scale labels of the 320 training images at the end of
# training (PCM-refined CAMs at SEAM's fixed background 0.26). pseudo_labels.md: the paper's
# protocol on the same images, so that the comparison does not hang on one threshold:
# - 'single scale' (every seed): the CAMs scored at the fixed threshold (cam), at the best one of
#   the sweep 0.00-0.59 (cam_sweep_best, Table 1's number), F at 0.25 and a GT-free threshold;
# - 'multi-scale + CRF' (seed 0): SEAM's pseudo-labels (scales 0.5-2 + flip, min-max), the same
#   scores, and the CRF at each config's alphas.
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
pseudo_labels = [
    dict(name='single scale', seeds=[0, 1, 2], args=['--scales', '1.0', '--no-flip', '--crf']),
    dict(name='multi-scale + CRF', seeds=[0], args=[]),
]
