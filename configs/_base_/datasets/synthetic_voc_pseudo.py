# The embedded dataset with pseudo-labels (or AffinityNet / IRN labels) as the training masks:
# set train_dataloader.dataset.data_prefix.seg_map_path to a directory written by
# tools/make_pseudo_labels.py; validation and test keep the real masks.
_base_ = './synthetic_voc.py'
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
            seg_map_path='work_dirs/demo_synthetic/pseudo_labels/crf_a1'),
        pipeline=train_pipeline))
