# CPU-sized Spatial-BCE + ISL/FSL on the embedded dataset (the differences of
# configs/hfpl/spatial_bce_voc.py).
_base_ = '../spatial_bce/spatial-bce_r38tiny_synthetic.py'
model = dict(
    decode_head=dict(
        loss_isl=dict(type='ImportanceSamplingLoss', num_samples=10, posterior='binomial',
                      loss_weight=0.2),
        loss_fsl=dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
                      subtract_min=True, with_background=True, loss_weight=1.0)),
    test_cfg=dict(bg_threshold=0.40))
pseudo_label_cfg = dict(bg_threshold=0.40)
