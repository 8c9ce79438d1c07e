# SIPE's CAM schedule: 5 epochs, poly (power 0.9) from lr 0.1, the new layers (head: side
# convolutions and classifier) at x10, weight decay 1e-4 on every group, gradient norm clipped
# at 1. Like every PolyOptimizer of this family, SIPE's PolyOptimizerSGD passes weight_decay
# positionally into SGD's momentum slot: momentum 1e-4 reproduces the published training (set 0.9
# for the textbook optimiser).
optimizer = dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=5, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=5, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [dict(type='CAMVisualizationHook', num_images=8)]
