# IRN's class-boundary branch at CPU size on the embedded dataset. Its labels come from the CAMs:
#   python tools/make_pseudo_labels.py configs/hfpl/demo_synthetic.py CKPT \
#       --out work_dirs/demo_synthetic/pseudo_labels --ir-labels 0.30 0.05
# then train this config and refine the CAMs:
#   python tools/refine_pseudo_labels.py configs/irn/irn_r18tiny_synthetic.py IRN_CKPT \
#       --cams work_dirs/demo_synthetic/pseudo_labels/cams --out .../irn \
#       --beta 10 --logt 8 --bg-threshold 0.25
# IRN freezes an ImageNet backbone; without pretrained weights at CPU size it is trained here.
_base_ = [
    '../_base_/datasets/synthetic_voc_pseudo.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_demo_cpu.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='InterPixelRelationNet',
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
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False),
    in_index=(0, 1, 2, 3),
    in_channels=(16, 32, 64, 128),
    mid_channels=16,
    train_radius=10,
    test_radius=5)
# not evaluated during training: tools/refine_pseudo_labels.py scores the refined labels
train_cfg = dict(val_interval=100000)
val_cfg = None
val_dataloader = None
val_evaluator = None
custom_hooks = []
# relative to the working directory: --cfg-options pseudo_label_dir=DIR/ir_label
pseudo_label_dir = 'work_dirs/demo_synthetic/pseudo_labels/ir_label'
# tools/refine_pseudo_labels.py scores the refined labels on the real masks of test_dataloader
pseudo_label_cfg = dict(score_split='test')
train_dataloader = dict(
    dataset=dict(data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir)))
