# SEAM baseline on COCO 2014 for 16 epochs (the twin of configs/hfpl/seam_coco_16ep.py).
_base_ = './seam_r38_coco.py'
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=16, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=16, val_interval=16)
