# The COCO add-on run of Table 2 trained twice as long (16 epochs; poly schedule over 16).
_base_ = './seam_coco.py'
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=16, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=16, val_interval=16)
