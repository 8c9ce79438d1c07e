# SEAM + the hfpl add-on on COCO 2014 (the paper's Table 3, 8 epochs): ISL with lambda 0.2 as on
# VOC, FSL with weight 0.2; CRF alphas 1 / 24.
_base_ = '../seam/seam_r38_coco.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.2, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
