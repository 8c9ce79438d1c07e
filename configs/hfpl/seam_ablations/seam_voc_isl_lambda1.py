# Table 5 setting: lambda = 1 (ISL replaces GAP on the full-scale branch, eq. 16), no FSL;
# the number of samples N (eq. 18) is swept by configs/studies/seam_voc_ablations.py.
_base_ = '../../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=1.0, num_samples=10, posterior='binomial'))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
