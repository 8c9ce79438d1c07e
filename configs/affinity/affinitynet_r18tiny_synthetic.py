# AffinityNet at CPU size on the embedded dataset. It trains on the two CRF maps of the CAM
# stage (aff_crf/: pooled to the feature grid after the crop, objects of the low alpha,
# background of the high alpha, 255 elsewhere, as PSA):
#   .venv/bin/python tools/make_pseudo_labels.py configs/hfpl/demo_synthetic.py CKPT \
#       --out work_dirs/demo_synthetic/pseudo_labels --crf 1 24 --affinity-labels
# then train this config (--cfg-options pseudo_label_dir=DIR/aff_crf) and refine the CAMs with
# tools/refine_pseudo_labels.py.
_base_ = [
    '../_base_/datasets/synthetic_voc_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_demo_cpu.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='AffinityNet',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(112, 112)),
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        out_indices=(1, 2, 3),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=norm_cfg,
        norm_eval=False,
        contract_dilation=True),
    in_index=(0, 1, 2),
    in_channels=(32, 64, 128),
    mid_channels=(16, 32, 64),
    out_channels=112,
    radius=5)
# AffinityNet is not evaluated during training: tools/refine_pseudo_labels.py scores its labels
train_cfg = dict(val_interval=100000)
val_cfg = None
val_dataloader = None
val_evaluator = None
custom_hooks = []
pseudo_label_dir = 'work_dirs/demo_synthetic/pseudo_labels/aff_crf'
# tools/refine_pseudo_labels.py scores the refined labels on the real masks of test_dataloader
pseudo_label_cfg = dict(score_split='test')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AffinityLabelsFromCRF', crop_size=112, pool=8),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
        seg_map_suffix='.npz',
        pipeline=train_pipeline))
