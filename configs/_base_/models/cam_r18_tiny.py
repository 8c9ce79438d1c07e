# A CPU-sized CAM network: ResNetV1c-18 with 16 base channels, output stride 8 (dilated
# stages 3-4, as the WSSS baselines), a 1x1 CAM classifier trained with the GAP multi-label loss (eq. 17).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(112, 112))  # the training crop of the synthetic dataset config
model = dict(
    type='CAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='CAMHead',
        in_channels=128,
        channels=128,
        in_index=0,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[dict(type='GAPMultiLabelLoss', loss_weight=1.0)]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', bg_threshold=0.3, label_source='gt'))
