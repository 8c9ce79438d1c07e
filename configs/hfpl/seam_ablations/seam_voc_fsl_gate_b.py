# FSL gating ablation: the sigmoid posterior b (eq. 14) instead of the max-normalised r (eq. 4),
# with ISL as in seam_voc.py.
_base_ = '../seam_voc.py'
model = dict(decode_head=dict(loss_fsl=dict(gating='sigmoid', subtract_min=False)))
