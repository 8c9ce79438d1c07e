# PASCAL VOC 2012 + SBD ("aug", 10,582 training images) in mmseg's layout
# (data/VOCdevkit/VOC2012 with SegmentationClass and SegmentationClassAug, see mmseg's
# dataset_prepare.md), plus the image-level labels cls_labels.npy of PSA / SEAM / IRN
# (name -> 20-d multi-hot vector) placed in the VOC2012 directory.
dataset_type = 'WSSSVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (448, 448)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(768, 448), ratio_range=(448 / 768, 1.0), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]
# train_aug = VOC train (1,464 images, SegmentationClass) + SBD aug (SegmentationClassAug). The
# masks are listed only so that pseudo-labels of these images can be scored; the training
# pipeline never loads them. mmengine replaces lists, so a config with its own pipeline (or its
# own masks) rebuilds the two datasets from these:
#   train_dataloader = dict(dataset=dict(
#       datasets=[dict(split, pipeline=train_pipeline) for split in _base_.train_aug]))
train_aug = [
    dict(type=dataset_type, data_root=data_root, ann_file=f'ImageSets/Segmentation/{split}.txt',
         data_prefix=dict(img_path='JPEGImages', seg_map_path=masks),
         cls_label_file='cls_labels.npy', pipeline=train_pipeline)
    for split, masks in (('train', 'SegmentationClass'), ('aug', 'SegmentationClassAug'))
]
# the CAM stage's loader in the official SEAM / SIPE / MCTformer / Spatial-BCE code: epochs of
# shuffled images, the last incomplete batch dropped
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ConcatDataset', datasets=train_aug))
# pseudo-label fidelity is measured on VOC train (1,464 images with SegmentationClass masks, the
# paper's Table 1): tools/make_pseudo_labels.py --split train labels train_aug and scores these
pseudo_label_cfg = dict(score_split='val')
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(train_aug[0], pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
