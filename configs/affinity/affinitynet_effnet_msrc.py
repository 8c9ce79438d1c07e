# AffinityNet at CPU size on the MSRC-v2 copy (../shared/data/msrc_voc, the 320 train images of
# the class-stratified split of ../_base_/datasets/msrc_split.py), the
# second stage of configs/pipelines/seam_effnet_msrc.py: affinitynet_r50-d8_voc12aug.py (PSA /
# SEAM: radius 5, the CRF labels pooled 8x8 onto the feature grid, colour jitter, crop + flip,
# batch 8, SGD poly, weight decay 5e-4, x10 for the new layers as SEAM's ResNet-38 version) on the
# ImageNet EfficientNet-Lite0 of the CAM stage at output stride 8 (stages 4, 5 and the 1280-channel
# head: 112, 192, 1280 channels, as configs/seam/seam_effnet_msrc.py), frozen BatchNorm. Sized for
# 2 CPU cores: crops of 160 (the CAM stage's; a 20 x 20 grid, PSA: 448 and 56 x 56), 80 iterations
# (2 epochs of the 320 images; PSA / SEAM: 8 epochs of 10,582).
#   python tools/train.py THIS --cfg-options pseudo_label_dir=DIR/aff_crf
#   python tools/refine_pseudo_labels.py THIS CKPT --cams DIR/cams --out DIR/aff \
#       --beta 8 --logt 6 --bg-alpha 6
_base_ = ['./affinitynet_r50-d8_voc12aug.py', '../_base_/datasets/msrc_split.py']
pseudo_label_dir = 'work_dirs/pseudo_labels/msrc/aff_crf'
data_root = '../shared/data/msrc_voc'
crop_size = 160
model = dict(
    data_preprocessor=dict(size=(crop_size, crop_size)),
    backbone=dict(
        _delete_=True,
        type='EfficientNetLite0',
        out_indices=(4, 5, 7),
        output_stride=8,
        dilate=True,
        frozen_stages=1,
        norm_eval=True,
        pretrained=True),
    in_channels=(112, 192, 1280))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='AffinityLabelsFromCRF', crop_size=crop_size, pool=8),
    dict(type='PackSegInputs'),
]
_split = dict(
    type='WSSSVOCDataset',
    data_root=data_root,
    metainfo=dict(classes=('background', 'cow', 'sheep', 'aeroplane', 'face', 'car', 'bicycle',
                           'flower', 'sign', 'bird', 'book', 'chair', 'cat', 'dog', 'body',
                           'boat')),
    cls_label_file='cls_labels.json',
    **_base_.msrc_train)  # the 320 train images of the stratified split
train_dataloader = dict(
    _delete_=True,
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_split, data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
                 seg_map_suffix='.npz', pipeline=train_pipeline))
# tools/refine_pseudo_labels.py scores the random walk's labels of the 320 train images on their
# real masks
test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_split, data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 pipeline=_base_.test_pipeline))
optim_wrapper = dict(
    optimizer=dict(lr=0.01),
    paramwise_cfg=dict(custom_keys={'projs': dict(lr_mult=10.0), 'fuse': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=80, by_epoch=False)]
train_cfg = dict(max_iters=80)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=80))
