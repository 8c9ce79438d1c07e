# Table 4, ISL row, binomial (proposed): ISL only (lambda 0.2, eq. 14 posterior), no FSL;
# CRF alphas 1 / 24.
_base_ = '../seam_voc.py'
model = dict(decode_head=dict(loss_fsl=None))
