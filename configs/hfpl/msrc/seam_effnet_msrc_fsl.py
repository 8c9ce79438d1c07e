# SEAM-EfficientNet on MSRC + FSL only (eqs. 9-13): on the full-scale fc8 logits (20 x 20 at the
# 160 crop, stride 8 as SEAM's), min-max gating r with the background channel (eq. 4), mu 2.5,
# sigma 5, weight 1, as configs/hfpl/seam_voc.py.
_base_ = '../../seam/seam_effnet_msrc.py'
model = dict(decode_head=dict(add_on=dict(
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
