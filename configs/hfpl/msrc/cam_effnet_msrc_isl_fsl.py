# MSRC baseline + the binomial add-on: eq. 16 with lambda = 0.2 and FSL on the stride-16 CAMs
# up-sampled x2 (28 x 28 for the 224 crops).
_base_ = '../../cam/cam_effnet_msrc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', upsample_factor=2))))
