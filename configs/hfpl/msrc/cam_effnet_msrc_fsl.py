# MSRC baseline + FSL only (binomial: gating r, background channel, mu 2.5, sigma 5, x2 up-sampling).
_base_ = '../../cam/cam_effnet_msrc.py'
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='GAPMultiLabelLoss', loss_weight=1.0),
        dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
             upsample_factor=2, loss_weight=1.0),
    ]))
