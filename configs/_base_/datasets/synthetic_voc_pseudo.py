# The embedded dataset with pseudo-labels (or AffinityNet / IRN labels) as the training masks:
# `pseudo_label_dir` is a directory written by tools/make_pseudo_labels.py, relative to the
# working directory (--cfg-options pseudo_label_dir=DIR; tools/train.py points the training
# dataset at it); validation and test keep the real masks.
_base_ = './synthetic_voc.py'
pseudo_label_dir = 'work_dirs/demo_synthetic/pseudo_labels/crf_a1'
# the base's augmentation, with the masks loaded and packed as the segmentation targets
train_pipeline = [
    _base_.train_pipeline[0],
    dict(type='LoadAnnotations'),
    *_base_.train_pipeline[1:-1],
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path=pseudo_label_dir),
        pipeline=train_pipeline))
