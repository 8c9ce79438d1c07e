# Spatial-BCE + ISL only (hfpl Sec. 5.1: semantic threshold 0.30 with ISL).
_base_ = './spatial_bce_voc.py'
model = dict(decode_head=dict(loss_fsl=None), test_cfg=dict(bg_threshold=0.30))
pseudo_label_cfg = dict(bg_threshold=0.30)
