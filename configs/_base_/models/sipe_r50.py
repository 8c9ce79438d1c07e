# SIPE (Chen et al., CVPR 2022, chenqi1126/SIPE): ImageNet ResNet-50 (torchvision weights, the
# key names of mmseg's ResNet), strides 2,2,2,1 -> output stride 16, frozen BatchNorm statistics,
# stem + stages 1-2 frozen (the official code detaches stage 2's output); side convolutions on
# all four stages -> hierarchical features; a bias-free 1x1 classifier (20 classes); losses:
# GAP soft-margin + general-specific consistency (GSC). Inference: the IS-CAM with its own
# background map (SIPESegmentor), argmax over [background, classes].
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,  # after normalisation: SIPE zero-pads the normalised crop
    seg_pad_val=255,
    size=(512, 512))
model = dict(
    type='SIPESegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        out_indices=(0, 1, 2, 3),
        frozen_stages=2,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        # torchvision's resnet50 ImageNet file (download it once; nothing is fetched at run time)
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet50-torchvision.pth')),
    decode_head=dict(
        type='SIPEHead',
        in_channels=(256, 512, 1024, 2048),
        in_index=(0, 1, 2, 3),
        channels=2048,
        side_channels=(128, 128, 256, 256),
        bg_factor=0.5,
        num_classes=21,
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=dict(type='GAPMultiLabelLoss', loss_weight=1.0),
        loss_gsc=dict(type='GeneralSpecificConsistencyLoss', loss_weight=1.0)),
    train_cfg=dict(),
    # bg_threshold scales SIPE's own background map: 1 = the official argmax
    test_cfg=dict(mode='whole', bg_threshold=1.0, label_source='gt'))
