# MCTformer-V2 baseline on PASCAL VOC 2012 train_aug (10,582 images), as the official main.py
# (xulianuwa/MCTformer at 9606597, run.sh): timm's ImageNet training transform at 224
# (RandomResizedCrop, flip, RandAugment rand-m9-mstd0.5-inc1, random erasing 0.25 "pixel"),
# batch 64, 60 epochs, AdamW, timm's cosine with 5 warm-up epochs (stepped per epoch), AMP.
#   python tools/train.py configs/mctformer/mctformer-v2_deit-s_voc.py
# (AMP needs a GPU: on a CPU add --cfg-options optim_wrapper.type=OptimWrapper.)
# Pseudo-labels (official: scale 1.0 + flip, CRF alpha 1 / 12 -> AffinityNet labels):
#   python tools/make_pseudo_labels.py configs/mctformer/mctformer-v2_deit-s_voc.py CKPT --out DIR
# AffinityNet as the official psa/train_aff.py of MCTformer (5 epochs from psa's VOC-trained
# ResNet-38 classifier): configs/affinity/affinitynet_r38_voc12aug-mctformer.py; refinement as
# psa/infer_aff.py (the 0.39 background channel walked with the classes, beta 8, logt 6):
#   python tools/refine_pseudo_labels.py configs/affinity/affinitynet_r38_voc12aug-mctformer.py \
#       AFF_CKPT --cams DIR/cams --out DIR/aff --beta 8 --logt 6 --bg-seed 0.39
# Stage 3 is the official DeepLab-v1 LargeFOV ResNet-38: configs/stage3/
# deeplabv1-largefov_r38_voc12aug-pseudo.py (set pseudo_label_dir to DIR/aff).
_base_ = [
    '../_base_/models/mctformer_v2_deit-s.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', '../_base_/datasets/rand_augment_timm.py'
]
# mmpretrain provides timm's RandomResizedCrop / RandAugment / RandomErasing as transforms
custom_imports = dict(imports=['mmseg_hfpl', 'mmpretrain.datasets'], allow_failed_imports=False)
log_processor = dict(by_epoch=True)
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmpretrain.RandAugment', policies=_base_.timm_increasing, num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    # timm's "pixel" mode: per-pixel normal noise in the normalised space
    dict(type='mmpretrain.RandomErasing', erase_prob=0.25, mode='rand', min_area_ratio=0.02,
         max_area_ratio=1 / 3, fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackWSSSInputs'),
]
# official run.sh: one process (no torchrun) with --batch-size 64 = the total batch; tools/train.py
# trains 64 // world_size images per process, at the lr of the single-GPU run
total_batch_size = 64
train_dataloader = dict(
    batch_size=total_batch_size,
    num_workers=10,
    # both train_aug datasets of the base with this pipeline
    dataset=dict(datasets=[dict(split, pipeline=train_pipeline) for split in _base_.train_aug]))
# main.py scales --lr 5e-4 linearly: 5e-4 * batch 64 * GPUs / 512 = 6.25e-5 on the official single
# GPU. timm's AdamW skips weight decay on biases, norms, cls_token and pos_embed.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4 * 64 / 512, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'cls_token': dict(decay_mult=0.0), 'pos_embed': dict(decay_mult=0.0)}))
# timm 0.4.12 create_scheduler (main.py:270): CosineLRScheduler(t_initial=--epochs 60,
# lr_min=--min-lr 1e-5, warmup_t=--warmup-epochs 5, warmup_lr_init=--warmup-lr 1e-6), stepped
# with step(epoch) at the end of each epoch (main.py:297): one cosine over all 60 epochs counted
# from epoch 0, the linear warm-up laid over its first 5. Epochs 0 and 1 train at 1e-6, epoch 5
# at 1e-6 + 4/5 (6.25e-5 - 1e-6), epoch k >= 6 at the cosine of (k - 1) / 60. (The epoch count
# create_scheduler returns, 60 + --cooldown-epochs 10, is discarded: main.py trains 60.)
param_scheduler = [
    dict(type='TimmCosineLR', t_initial=60, lr_min=1e-5, warmup_t=5, warmup_lr_init=1e-6,
         begin=0, end=60, by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=60)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=5, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [dict(type='CAMVisualizationHook', num_images=8)]
# defaults of tools/make_pseudo_labels.py for this config (the official inference: one scale and
# its flip at the original size; CRF on (1 - max)^alpha with alpha 1 and 12 for AffinityNet)
pseudo_label_cfg = dict(scales=(1.0, ), flip=True, crf_alphas=(1, 12), affinity_labels=True)
