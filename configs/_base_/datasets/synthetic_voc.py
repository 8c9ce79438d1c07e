# The embedded dataset (mmseg_hfpl/datasets/synthetic.py), generated in VOC layout by
# `python tools/make_synthetic_dataset.py data/synthetic_voc` (make demo does it for you).
dataset_type = 'WSSSVOCDataset'
data_root = 'data/synthetic_voc'
metainfo = dict(
    classes=('background', 'disc', 'box', 'triangle', 'ring', 'cross'),
    palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128]])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
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
# Pseudo-labels are scored on the training images (WSSS convention: their masks are never used
# for training); the `val` split is for the segmentor trained on the pseudo-labels.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_split, ann_file='ImageSets/Segmentation/train.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
