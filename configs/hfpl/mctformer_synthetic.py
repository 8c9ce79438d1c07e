# CPU-sized MCTformer-V2 + ISL/FSL on the embedded dataset (the differences of
# configs/hfpl/mctformer_voc.py).
_base_ = '../mctformer/mctformer-v2_vit-tiny_synthetic.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.02, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.1, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True,
             upsample_factor=4))))
