# Demo baseline + ISL only (eq. 16, lambda = 0.2, binomial, 10 samples).
_base_ = '../../cam/cam_r18_demo_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'))))
