# MSRC with the ICASSP (multinomial) add-on: background score channel, ISL on the softmax
# posterior (eq. 5) with lambda 0.6, FSL gated by the softmax.
_base_ = '../../cam/cam_effnet_msrc.py'
model = dict(
    decode_head=dict(
        background_channel=True,
        loss_decode=[
            dict(type='GAPMultiLabelLoss', loss_weight=0.4),
            dict(type='ImportanceSamplingLoss', num_samples=10, posterior='multinomial',
                 loss_weight=0.6),
            dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='softmax',
                 with_background=False, upsample_factor=2, loss_weight=1.0),
        ]))
