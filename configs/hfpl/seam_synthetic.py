# CPU-sized SEAM + ISL/FSL on the embedded dataset (the differences of configs/hfpl/seam_voc.py).
_base_ = '../seam/seam_r38tiny_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
