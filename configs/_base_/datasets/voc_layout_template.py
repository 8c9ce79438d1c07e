# Template for any VOC-layout dataset with image-level labels. Copy it and set data_root,
# metainfo (background first) and cls_label_file; this copy points at the MSRC-v2 example
# (400 photos, 15 object classes + background) kept outside the repository in
# ../shared/data/msrc_voc (cls_labels.json: {"classes": [...], "labels": {name: [indices]}}).
# Without a label file, set labels_from_masks=True to derive the tags from the masks.
dataset_type = 'WSSSVOCDataset'
data_root = '../shared/data/msrc_voc'
metainfo = dict(classes=('background', 'cow', 'sheep', 'aeroplane', 'face', 'car', 'bicycle',
                         'flower', 'sign', 'bird', 'book', 'chair', 'cat', 'dog', 'body', 'boat'))
crop_size = (224, 224)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(320, 320), ratio_range=(0.7, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    # crops of images smaller than crop_size are padded to it with the mean colour (BGR; 0 after
    # normalisation, as the data preprocessor pads), so a batch stacks with any model base
    dict(type='Pad', size=crop_size, pad_val=dict(img=(103.53, 116.28, 123.675), seg=255)),
    dict(type='PackWSSSInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]
# the images of a split: the masks are listed only so that pseudo-labels of these images can be
# scored; the training pipeline never loads them
_split = dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
              data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
              cls_label_file='cls_labels.json')
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_split, ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_split, ann_file='ImageSets/Segmentation/train.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
