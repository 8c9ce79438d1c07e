# MS COCO 2014 converted to the VOC layout (80 classes + background): JPEGImages/,
# SegmentationClass/ (class index PNGs), ImageSets/Segmentation/{train,val}.txt (train2014,
# val2014) and cls_labels.npy (name -> 80-d multi-hot), as tools/dataset_converters/coco2014.py
# writes them (default: every image id, as hfpl's process_coco.py: 82,783 / 40,504 images;
# --image-list annotated: the 82,081 / 40,137 with an annotation, as ToCo / CoSA).
# The 81 class names (category ids in ascending order -> 1 .. 80) are WSSSCOCODataset's.
dataset_type = 'WSSSCOCODataset'
data_root = 'data/coco2014_voc'
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
# the images of a split: the masks are listed only so that pseudo-labels of these images can be
# scored; the training pipeline never loads them
_split = dict(type=dataset_type, data_root=data_root,
              data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
              cls_label_file='cls_labels.npy')
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(_split, ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_split, ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
# pseudo-label fidelity is measured on val2014, as hfpl's run_coco.sh scores the CAMs (sweep and F)
# there: tools/make_pseudo_labels.py --split train labels train2014 (what AffinityNet trains on)
# and scores val2014
pseudo_label_cfg = dict(score_split='val')
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
