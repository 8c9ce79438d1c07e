# MCTformer-V2 (Xu et al., CVPR 2022): DeiT-S/16 with 20 class tokens (ImageNet DeiT weights
# deit_small_patch16_224-cd65a155.pth from https://dl.fbaipublicfiles.com/deit/, put in
# pretrain/ by hand: nothing is downloaded; the backbone repeats its class token and the class
# position embedding for the 20 classes as the official main.py --finetune), drop path 0.1,
# 3x3 conv head on the patch tokens -> 14x14 patch CAM; losses: multi-label soft margin on the
# class-token logits and on the GAP of the patch CAM. Inference: class-to-patch attention of the
# last 3 blocks x ReLU(patch CAM), refined by the patch-to-patch attention summed over all 12
# blocks, min-max normalised (official --attention-type fused --layer-index 3
# --patch-attn-refine).
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(224, 224))
model = dict(
    type='MCTformerSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MCTViT',
        img_size=224,
        patch_size=16,
        embed_dims=384,
        num_layers=12,
        num_heads=6,
        mlp_ratio=4.0,
        qkv_bias=True,
        drop_rate=0.0,
        drop_path_rate=0.1,
        num_cls_tokens=20,
        final_norm=False,
        init_cfg=dict(type='Pretrained',
                      checkpoint='pretrain/deit_small_patch16_224-cd65a155.pth')),
    decode_head=dict(
        type='MCTformerHead',
        in_channels=384,
        channels=384,
        in_index=0,
        num_classes=21,
        dropout_ratio=0.0,
        align_corners=False,
        loss_decode=dict(type='GAPMultiLabelLoss', loss_weight=1.0),  # official pat_loss
        loss_cls_token=dict(type='GAPMultiLabelLoss', loss_weight=1.0,
                            loss_name='loss_cls_token')),  # official cls_loss
    cam_layers=3,
    train_cfg=dict(),
    # psa/infer_aff.py --bg_thr 0.39 of the official repository ("the optimal one for seeds")
    test_cfg=dict(mode='whole', bg_threshold=0.39, label_source='gt'))
