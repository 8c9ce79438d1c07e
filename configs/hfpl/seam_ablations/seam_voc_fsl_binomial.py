# Table 4, FSL row, binomial (proposed): FSL gated by r (eq. 4) with the background channel,
# no ISL.
_base_ = '../seam_voc.py'
model = dict(decode_head=dict(loss_isl=None))
