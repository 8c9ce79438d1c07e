# CPU-sized Spatial-BCE + ISL/FSL on the embedded dataset (the differences of
# configs/hfpl/spatial_bce_voc.py).
_base_ = '../spatial_bce/spatial-bce_r38tiny_synthetic.py'
model = dict(
    decode_head=dict(add_on=dict(
        isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
        fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))),
    test_cfg=dict(bg_threshold=0.40))
pseudo_label_cfg = dict(bg_threshold=0.40)
