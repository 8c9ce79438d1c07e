# Spatial-BCE (Wu et al., ECCV 2022; allenwu97/Spatial-BCE): ResNet-38 (stride 8, frozen BN,
# conv1a and b2 frozen as SEAM; ImageNet weights converted from MXNet by
# tools/convert_resnet38_mxnet.py), conv6 (4096) -> 1x1 mask layer (128) -> 20 separate 1x1 class
# heads x learnable per-class temperature exp(T), T0 = log 10; a 1x1 threshold head on conv6;
# no GAP. Losses: spatial BCE (threshold = quantile of the sigmoid scores at the foreground-ratio
# prior; iterations 80-99 of every 100 train only the threshold head) + KL(mean pixel
# probability || prior). Inference: sigmoid of the CAM (no temperature), multi-scale + flip.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(369, 369))
model = dict(
    type='SpatialBCESegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet38d',
        out_indices=(3, ),  # conv6
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38d_ilsvrc.pth')),
    decode_head=dict(
        type='SpatialBCEHead',
        in_channels=4096,
        in_index=0,
        channels=128,  # mask_layer_downsample
        num_classes=21,
        dropout_ratio=0.0,
        align_corners=False,
        # phase 1 prior: the official datasets/voc12_init.npy (copy it next to cls_labels.npy);
        # phases 2 and 3 read the previous CRF labels (configs/spatial_bce/spatial-bce_r38_voc.py)
        fg_prior=dict(file='data/VOCdevkit/VOC2012/voc12_init.npy'),
        cycle=100,
        network_iters=80,
        loss_decode=dict(type='SpatialBCELoss', loss_weight=1.0),
        loss_kl=dict(type='ForegroundRatioKLLoss', loss_weight=1.0)),
    train_cfg=dict(),
    # 'fixed': background score bg_threshold (the official "optimal threshold" search ran
    # 0.20-0.38); 'adaptive': the learned per-class thresholds
    test_cfg=dict(mode='whole', threshold='fixed', bg_threshold=0.30, label_source='gt'))
