# IRN's class-boundary branch on VOC 2012 train_aug (Ahn et al., CVPR 2019; settings of
# jiwoon-ahn/irn): frozen ImageNet ResNet-50 (strides 2,2,2,1), scale 0.5-1.5, crop 512, batch
# 32, 3 epochs (~1k iterations), SGD lr 0.1 with poly decay, weight decay 1e-4 (and momentum
# 1e-4, the official quirk), pair radius 10. Labels:
#   tools/make_pseudo_labels.py CAM_CONFIG CKPT --out DIR --ir-labels 0.30 0.05
# Refinement: tools/refine_pseudo_labels.py THIS CKPT --cams DIR/cams --out DIR/irn
#   --beta 10 --logt 8 --bg-threshold 0.25   (Spatial-BCE + hfpl: IRN fg .60 / bg .25)
_base_ = ['../_base_/datasets/voc12_aug.py', '../_base_/default_runtime.py']
pseudo_label_dir = 'work_dirs/pseudo_labels/voc12aug/ir_label'
# tools/refine_pseudo_labels.py scores the refined labels on the real masks of test_dataloader
pseudo_label_cfg = dict(score_split='test')
norm_cfg = dict(type='BN', requires_grad=False)
model = dict(
    type='InterPixelRelationNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512)),
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        out_indices=(0, 1, 2, 3),
        frozen_stages=4,
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    in_index=(0, 1, 2, 3),
    in_channels=(256, 512, 1024, 2048),
    mid_channels=32,
    train_radius=10,
    test_radius=5)
# irn step/train_irn.py:17-26 (VOC12AffinityDataset, voc12/dataloader.py:227-253): the original
# image rescaled by a factor in 0.5-1.5 (PIL bicubic, labels PIL nearest), flipped, cropped to
# 512 at a random offset (a short side placed at a random offset in the container, padded with
# 0 after normalisation, i.e. the mean here, labels with 255)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomRescale', ratio_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomContainerCrop', crop_size=(512, 512), pad_val=(103.53, 116.28, 123.675),
         seg_pad_val=255),
    dict(type='PackSegInputs'),
]
total_batch_size = 32  # IRN train_irn: 32 over all GPUs (tools/train.py splits it)
# iterations over shuffled images (the base's loader: epochs of the CAM stage)
train_dataloader = dict(
    _delete_=True,
    batch_size=total_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    # both train_aug datasets of the base, with the relation labels as their masks
    dataset=dict(type='ConcatDataset', datasets=[
        dict(split, data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
             pipeline=train_pipeline) for split in _base_.train_aug]))
# irn misc/torchutils.py:9-12 (SIPE tool/torchutils.py:11-14): PolyOptimizer calls
# SGD(params, lr, weight_decay) positionally, so SGD's momentum is the weight decay, 1e-4 (the
# groups keep weight_decay 1e-4; PolyOptimizer's own `momentum=0.9` is the poly power). The
# edge branch is IRN's x1 group (step/train_irn.py:33-36; the x10 group is the displacement
# branch, which this boundary-only IRN does not have).
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=990, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=990, val_interval=100000)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=990),
    sampler_seed=dict(type='DistSamplerSeedHook'))
