# FSL gating ablation: the sigmoid posterior b (eq. 14) instead of the max-normalised r (eq. 4),
# with ISL as in seam_voc.py.
_base_ = '../../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='sigmoid'))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
