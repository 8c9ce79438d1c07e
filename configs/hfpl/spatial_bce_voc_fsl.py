# Spatial-BCE + FSL only (hfpl Sec. 5.1: semantic threshold 0.40 with FSL).
_base_ = './spatial_bce_voc.py'
model = dict(decode_head=dict(loss_isl=None))
