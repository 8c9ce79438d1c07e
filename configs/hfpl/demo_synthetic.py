# The main job: the demo baseline plus the add-on, eq. 16 with lambda = 0.2 (GAP x 0.8 + ISL x 0.2,
# binomial, 10 samples) and the binomial FSL (max-normalised gating r, background channel,
# mu = 2.5, sigma = 5) on the stride-8 CAMs up-sampled x2 (28 x 28 for the 112 crops, as the
# paper does for SIPE).
_base_ = '../cam/cam_r18_demo_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', upsample_factor=2))))
