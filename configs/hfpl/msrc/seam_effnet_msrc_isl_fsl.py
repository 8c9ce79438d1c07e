# SEAM-EfficientNet on MSRC + the binomial add-on (the paper's proposal, configs/hfpl/seam_voc.py):
# ISL at lambda 0.2 (eq. 16) and FSL (eqs. 9-13); CRF alphas 1 / 24.
_base_ = '../../seam/seam_effnet_msrc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
