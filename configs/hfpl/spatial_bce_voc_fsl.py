# Spatial-BCE + FSL only (hfpl Sec. 5.1: semantic threshold 0.40 with FSL).
_base_ = '../spatial_bce/spatial-bce_r38_voc.py'
model = dict(
    decode_head=dict(add_on=dict(
        fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))),
    test_cfg=dict(bg_threshold=0.40))
pseudo_label_cfg = dict(bg_threshold=0.40, bg_search=None)
