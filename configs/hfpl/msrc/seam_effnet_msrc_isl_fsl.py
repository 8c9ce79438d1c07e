# SEAM-EfficientNet on MSRC + the binomial add-on (the paper's proposal, configs/hfpl/seam_voc.py):
# ISL at lambda 0.2 (eq. 16) and FSL (eqs. 9-13); CRF alphas 1 / 24.
_base_ = './seam_effnet_msrc_isl.py'
model = dict(
    decode_head=dict(
        loss_fsl=dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
                      subtract_min=True, with_background=True, loss_weight=1.0)))
