# CPU-sized PMM stage A + ISL/FSL on the embedded dataset (the differences of
# configs/hfpl/pmm_voc.py).
_base_ = '../pmm/pmm-a_r38tiny_synthetic.py'
model = dict(
    decode_head=dict(
        loss_isl=dict(type='ImportanceSamplingLoss', num_samples=10, posterior='binomial',
                      loss_weight=0.2),
        loss_fsl=dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0, gating='max_norm',
                      subtract_min=True, with_background=True, loss_weight=1.0)))
