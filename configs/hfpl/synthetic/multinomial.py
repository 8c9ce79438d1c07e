# The ICASSP (multinomial) add-on on the demo: a background score channel, ISL on the softmax
# posterior (eq. 5) with its optimal lambda 0.6, FSL gated by the softmax (background included).
_base_ = '../../cam/cam_r18_demo_synthetic.py'
model = dict(decode_head=dict(background_channel=True, add_on=dict(
    isl=dict(lam=0.6, num_samples=10, posterior='multinomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='softmax', with_background=False,
             upsample_factor=2))))
