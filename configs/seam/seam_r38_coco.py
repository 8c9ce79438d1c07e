# SEAM baseline on MS COCO 2014 (train2014 in the VOC layout, 80 classes + background): fc8 with
# 81 channels, otherwise the VOC recipe (batch 8, 8 epochs, crop 448).
_base_ = [
    '../_base_/models/seam_r38.py', '../_base_/datasets/coco2014.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seam_8ep.py'
]
custom_imports = dict(imports=['mmseg_hfpl', 'mmpretrain.datasets'], allow_failed_imports=False)
model = dict(decode_head=dict(num_classes=81))
log_processor = dict(by_epoch=True)  # the schedule counts epochs
crop_size = (448, 448)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizeLong', min_size=448, max_size=768),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
total_batch_size = 8  # over all processes (tools/train.py: 8 // world_size per process)
train_dataloader = dict(
    batch_size=total_batch_size,
    num_workers=8,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline))
# the official SEAM / hfpl inference min-max normalises the summed CAMs (infer_SEAM.py)
pseudo_label_cfg = dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, cam_norm='min_max',
                        crf_alphas=(4, 24), affinity_labels=True)
