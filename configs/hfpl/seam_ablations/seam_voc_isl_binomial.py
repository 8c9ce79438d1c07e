# Table 4, ISL row, binomial (proposed): ISL only (lambda 0.2, eq. 14 posterior), no FSL;
# CRF alphas 1 / 24.
_base_ = '../../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
