# Table 5 setting: lambda = 1 (ISL replaces GAP on the full-scale branch, eq. 16), no FSL;
# the number of samples N (eq. 18) is swept by configs/studies/seam_voc_ablations.py.
_base_ = '../seam_voc.py'
model = dict(decode_head=dict(loss_isl=dict(loss_weight=1.0), loss_fsl=None))
