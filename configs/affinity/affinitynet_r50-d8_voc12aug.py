# AffinityNet on VOC 2012 train_aug (PSA / SEAM settings: crop 448, batch 8, 8 epochs, SGD lr 0.1
# poly, weight decay 5e-4, radius 5; labels: the CRF marginals at alpha 4 (hfpl + ISL: 1) and 24,
# cropped with the image, pooled 8x8 onto the feature grid and combined there, as PSA's
# VOC12AffDataset), here on a dilated ResNetV1c-50 (stride 8); SEAM's own ResNet-38 version is
# affinitynet_r38_voc12aug.py. Labels:
#   tools/make_pseudo_labels.py CAM_CONFIG CKPT --out DIR --crf 4 24 --affinity-labels
# Training: --cfg-options pseudo_label_dir=DIR/aff_crf (relative to the working directory).
# Refinement: tools/refine_pseudo_labels.py THIS CKPT --cams DIR/cams --out DIR/aff
#   --beta 8 --logt 6 --bg-alpha 6
_base_ = ['../_base_/datasets/voc12_aug.py', '../_base_/default_runtime.py']
pseudo_label_dir = 'work_dirs/pseudo_labels/voc12aug/aff_crf'
# tools/refine_pseudo_labels.py scores the refined labels on the real masks of test_dataloader
pseudo_label_cfg = dict(score_split='test')
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='AffinityNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(448, 448)),
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        out_indices=(1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=norm_cfg,
        norm_eval=False,
        contract_dilation=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    in_index=(0, 1, 2),
    in_channels=(512, 1024, 2048),
    mid_channels=(64, 128, 256),
    out_channels=448,
    radius=5)
# PSA / hfpl train_aff_voc.py: colour jitter, then the joint crop + flip of image and CRF maps
custom_imports = dict(imports=['mmseg_hfpl', 'mmpretrain.datasets'], allow_failed_imports=False)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='AffinityLabelsFromCRF', crop_size=448, pool=8),
    dict(type='PackSegInputs'),
]
total_batch_size = 8  # PSA / SEAM / hfpl train_aff: 8 over all GPUs (tools/train.py splits it)
# iterations over shuffled images (the base's loader: epochs of the CAM stage)
train_dataloader = dict(
    _delete_=True,
    batch_size=total_batch_size,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    # both train_aug datasets of the base, with the CRF maps (.npz) as their labels
    dataset=dict(type='ConcatDataset', datasets=[
        dict(split, data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
             seg_map_suffix='.npz', pipeline=train_pipeline) for split in _base_.train_aug]))
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=10580,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10580, val_interval=100000)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=10580),
    sampler_seed=dict(type='DistSamplerSeedHook'))
