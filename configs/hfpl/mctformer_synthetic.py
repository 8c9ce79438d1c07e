# CPU-sized MCTformer-V2 + ISL/FSL on the embedded dataset (the differences of
# configs/hfpl/mctformer_voc.py).
_base_ = '../mctformer/mctformer-v2_vit-tiny_synthetic.py'
_lambda = 0.02  # 0.1 x SEAM's 0.2 (eq. 16), as configs/hfpl/sipe_voc.py
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='GAPMultiLabelLoss', loss_weight=1.0 - _lambda),
        dict(type='ImportanceSamplingLoss', num_samples=10, posterior='binomial',
             loss_weight=_lambda),
        dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
             subtract_min=True, with_background=True, upsample_factor=4, loss_weight=0.1),
    ]))
