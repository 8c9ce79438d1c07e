# The embedded dataset with pseudo-labels (or AffinityNet / IRN labels) as the training masks:
# `pseudo_label_dir` is a directory written by tools/make_pseudo_labels.py, relative to the
# working directory (--cfg-options pseudo_label_dir=DIR; tools/train.py points the training
# dataset at it); validation and test keep the real masks.
_base_ = './synthetic_voc.py'
pseudo_label_dir = 'work_dirs/demo_synthetic/pseudo_labels/crf_a1'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path=pseudo_label_dir),
        pipeline=train_pipeline))
