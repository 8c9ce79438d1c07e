# Spatial-BCE baseline (Wu et al., ECCV 2022; allenwu97/Spatial-BCE) on PASCAL VOC 2012
# train_aug, as the official train.py: every image resized to 369x369 (no crop, so the
# per-image foreground ratios stay valid) + RandAugment, batch 12, 20 epochs, SGD lr 1e-3
# (x10 and no decay for the temperatures, x10 for the new 1x1 layers), momentum 0.9, wd 5e-4,
# poly 0.9 per iteration.
#
# The official method runs three phases (train_optimal_threshold.sh and
# train_adaptive_threshold.sh), each a full training, each refreshing the foreground-ratio prior
# from the label CRF of its CAM labels (make_crf.py + create_fg.py):
#   phase 1 (prior: the official datasets/voc12_init.npy, put it in data/VOCdevkit/VOC2012;
#   weights: the released voc12_init.pth of README.txt, "Pretrain_Model", as the official
#   --pretrain ./voc12_init.pth: mkdir -p pretrain && mv voc12_init.pth pretrain/):
#     python tools/train.py configs/spatial_bce/spatial-bce_r38_voc.py \
#         --work-dir work_dirs/sbce_p1
#     python tools/make_pseudo_labels.py configs/spatial_bce/spatial-bce_r38_voc.py \
#         work_dirs/sbce_p1/epoch_20.pth --out work_dirs/sbce_p1/pl
#   (pseudo_label_cfg below: CAMs fused as make_cam.py, the background threshold searched over
#   0.20-0.38 on VOC train as eval.py, the label CRF of make_crf.py at that threshold over
#   train_aug -> pl/crf_label; metrics.json cam_bg_search holds the search. The adaptive
#   script instead: add --threshold adaptive, the learned per-image thresholds, no search)
#   phase 2 (prior = class shares of phase 1's CRF labels; weights of phase 1, fresh optimiser):
#     python tools/train.py configs/spatial_bce/spatial-bce_r38_voc.py \
#         --work-dir work_dirs/sbce_p2 \
#         --cfg-options load_from=work_dirs/sbce_p1/epoch_20.pth \
#         model.decode_head.fg_prior.file=None \
#         model.decode_head.fg_prior.label_dir=work_dirs/sbce_p1/pl/crf_label
#     python tools/make_pseudo_labels.py configs/spatial_bce/spatial-bce_r38_voc.py \
#         work_dirs/sbce_p2/epoch_20.pth --out work_dirs/sbce_p2/pl
#   phase 3: as phase 2 with p2 -> p3 and p1 -> p2.
# The final pseudo-labels (IRN relation labels at fg 0.60 / bg 0.25) come from the last phase;
# IRN: configs/irn/irn_r50_voc12aug.py. Stage 3 (segmentation on the pseudo-labels, DeepLab on
# ResNet-38 / ResNet-101 in the papers): configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py
# and configs/stage3/deeplabv3_r101-d8_voc12aug-pseudo.py.
_base_ = [
    '../_base_/models/spatial_bce_r38.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', '../_base_/datasets/rand_augment_timm.py'
]
# phase 1 starts from the official voc12_init.pth (train_adaptive_threshold.sh:16,
# train_optimal_threshold.sh:16; loaded as train.py:63-73: every key the model has), not from
# the ImageNet weights; model.init_checkpoint=None + the backbone's init_cfg of the base model
# (pretrain/resnet38d_ilsvrc.pth) starts from ImageNet instead
model = dict(init_checkpoint='pretrain/voc12_init.pth', backbone=dict(init_cfg=None))
# mmpretrain provides RandAugment as an OpenMMLab transform
custom_imports = dict(imports=['mmseg_hfpl', 'mmpretrain.datasets'], allow_failed_imports=False)
image_size = (369, 369)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=False),
    # the official code uses the `randaugment` PyPI package (2 ops per image); here mmpretrain's
    dict(type='mmpretrain.RandAugment', policies=_base_.timm_increasing, num_policies=2,
         magnitude_level=9, total_level=10, hparams=dict(pad_val=[124, 116, 104])),
    dict(type='PackWSSSInputs'),
]
# official train.py: batch 12 on one process (DataParallel) = the total batch; tools/train.py
# trains 12 // world_size images per process
total_batch_size = 12
train_dataloader = dict(
    batch_size=total_batch_size,
    # both train_aug datasets of the base with this pipeline
    dataset=dict(datasets=[dict(split, pipeline=train_pipeline) for split in _base_.train_aug]))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.temperature': dict(lr_mult=10.0, decay_mult=0.0),
    }))
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=20, by_epoch=True,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=20)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
log_processor = dict(by_epoch=True)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'))
# defaults of tools/make_pseudo_labels.py for this config: the official make_cam.py scales
# (+ flips; SpatialBCESegmentor fuses them as make_cam.py: mean of the raw CAMs, sigmoid, top
# class per pixel, max-norm); the background threshold of the cam labels searched as eval.py
# (0.20, 0.22, ..., 0.38 on the scored VOC train masks, the first best mIoU); the label CRF of
# make_crf.py / tools/imutils.py (10 steps, unary_from_labels gt_prob 0.7, Gaussian sxy 3
# compat 3, bilateral sxy 40 srgb 5 compat 10) whose labels (crf_label/) give the next phase's
# prior; IRN relation labels at fg 0.60 / bg 0.25 (hfpl Sec. 5.1, "same as the original
# setting"; IRN's own label CRF, sxy 50)
pseudo_label_cfg = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    bg_search=(0.20, 0.22, 0.24, 0.26, 0.28, 0.30, 0.32, 0.34, 0.36, 0.38),
    label_crf=dict(gt_prob=0.7, iterations=10, gaussian=(3, 3), bilateral=(40, 5, 10)),
    ir_labels=(0.60, 0.25))
