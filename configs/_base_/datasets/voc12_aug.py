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
# masks are listed only so that pseudo-labels of these images can be scored; the training
# pipeline never loads them
_train = dict(
    type=dataset_type,
    data_root=data_root,
    cls_label_file='cls_labels.npy',
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(**_train, ann_file='ImageSets/Segmentation/train.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass')),
            dict(**_train, ann_file='ImageSets/Segmentation/aug.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug')),
        ]))
# pseudo-label fidelity is measured on VOC train (1,464 images with SegmentationClass masks, the
# paper's Table 1): tools/make_pseudo_labels.py --split train labels train_aug and scores these
pseudo_label_cfg = dict(score_split='val')
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        cls_label_file='cls_labels.npy',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
