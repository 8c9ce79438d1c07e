# A seconds-long version of the demo (ISL + FSL) for the engine tests; the tests set data_root.
_base_ = '../../configs/hfpl/demo_synthetic.py'
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackWSSSInputs')]
model = dict(
    data_preprocessor=dict(size=(64, 64)),
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=64))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=4, by_epoch=False)]
train_cfg = dict(max_iters=4, val_interval=4)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=2))
custom_hooks = [dict(type='CAMVisualizationHook', num_images=2)]
