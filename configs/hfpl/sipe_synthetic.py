# The CPU-sized SIPE twin with the add-on of configs/hfpl/sipe_voc.py (lambda 0.02, FSL x0.1 on
# the CAM up-sampled x2, the official hfpl min-max gating).
_base_ = '../sipe/sipe_r18tiny_synthetic.py'
_lambda = 0.02
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='GAPMultiLabelLoss', loss_weight=1.0 - _lambda),
        dict(type='ImportanceSamplingLoss', num_samples=10, posterior='binomial',
             loss_weight=_lambda),
        dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
             subtract_min=True, with_background=True, upsample_factor=2, loss_weight=0.1),
    ]))
