# Demo baseline + FSL only (binomial: gating r, background channel, mu 2.5, sigma 5, x2 up-sampling).
_base_ = '../../cam/cam_r18_demo_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', upsample_factor=2))))
