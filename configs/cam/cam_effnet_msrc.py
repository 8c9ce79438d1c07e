# Baseline on real photographs: the MSRC-v2 copy in ../shared/data/msrc_voc (320 train images,
# 15 object classes), ImageNet EfficientNet-Lite0 CAM network, 400 iterations of batch 8
# (10 epochs, ~0.95 s/iteration on 2 quiet cores: ~7 min per run with the evaluation);
# pseudo-labels of the training images scored with J, F, J&F.
_base_ = [
    '../_base_/models/cam_effnet_lite0.py', '../_base_/datasets/voc_layout_template.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py'
]
# new layers learn 10x faster than the pretrained backbone (the baselines' parameter groups)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=400, by_epoch=False)]
train_cfg = dict(max_iters=400, val_interval=400)
default_hooks = dict(checkpoint=dict(interval=400))
