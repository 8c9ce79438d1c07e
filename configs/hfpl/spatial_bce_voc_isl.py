# Spatial-BCE + ISL only (hfpl Sec. 5.1: semantic threshold 0.30 with ISL).
_base_ = '../spatial_bce/spatial-bce_r38_voc.py'
model = dict(
    decode_head=dict(add_on=dict(
        isl=dict(lam=0.2, num_samples=10, posterior='binomial'))),
    test_cfg=dict(bg_threshold=0.30))
pseudo_label_cfg = dict(bg_threshold=0.30, bg_search=None)
