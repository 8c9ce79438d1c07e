# SEAM (Wang et al., CVPR 2020): ResNet-38 (stride 8, frozen BN, conv1a and b2 frozen; ImageNet
# weights converted from MXNet by tools/convert_resnet38_mxnet.py), fc8 with 21 channels
# (background included), PCM on [image, f8_3(conv4), f8_4(conv5)], siamese training with the
# input rescaled by 0.3, losses GAP + min-pooling + ER + ECR. Inference: the PCM-refined CAM.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,  # after normalisation: the mean colour, as SEAM's zero-padded crops
    seg_pad_val=255,
    size=(448, 448))
model = dict(
    type='SEAMSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet38d',
        out_indices=(1, 2, 3),  # conv4, conv5, conv6
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38d_ilsvrc.pth')),
    decode_head=dict(
        type='SEAMHead',
        in_channels=(512, 1024, 4096),
        in_index=(0, 1, 2),
        channels=4096,
        num_classes=21,
        dropout_ratio=0.5,
        align_corners=True,
        loss_decode=dict(type='GAPMultiLabelLoss', loss_weight=1.0),
        loss_er=dict(type='EquivariantRegularizationLoss', loss_weight=1.0),
        loss_ecr=dict(type='EquivariantCrossRegularizationLoss', top_ratio=0.2, loss_weight=1.0),
        loss_rvmin=dict(type='AdaptiveMinPoolingLoss', ratio=0.25, loss_weight=1.0)),
    scale_factor=0.3,
    train_cfg=dict(),
    # SEAM's default background score of the CAM labels (infer_SEAM.py --out_cam_pred_alpha)
    test_cfg=dict(mode='whole', bg_threshold=0.26, label_source='gt'))
