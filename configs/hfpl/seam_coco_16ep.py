# The COCO add-on run of Table 3 trained twice as long (16 epochs; poly schedule over 16).
_base_ = '../seam/seam_r38_coco_16ep.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.2, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
