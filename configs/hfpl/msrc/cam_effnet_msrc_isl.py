# MSRC baseline + ISL only (eq. 16, lambda = 0.2, binomial, 10 samples).
_base_ = '../../cam/cam_effnet_msrc.py'
model = dict(
    decode_head=dict(loss_decode=[
        dict(type='GAPMultiLabelLoss', loss_weight=0.8),
        dict(type='ImportanceSamplingLoss', num_samples=10, posterior='binomial', loss_weight=0.2),
    ]))
