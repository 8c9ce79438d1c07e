# The CPU-sized SIPE twin with the add-on of configs/hfpl/sipe_voc.py (lambda 0.02, FSL x0.1 on
# the CAM up-sampled x2, the official hfpl min-max gating).
_base_ = '../sipe/sipe_r18tiny_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.02, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.1, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True,
             upsample_factor=2))))
