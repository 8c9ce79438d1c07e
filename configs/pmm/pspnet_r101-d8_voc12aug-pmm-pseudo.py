# PMM's segmentation stage (Eli-YiLi/WSSS_MMSeg, configs/pspnet_wsss/*_20k_voc12aug_pus.py):
# PSPNet trained for 20k iterations on the PPMG pseudo-masks of VOC train_aug with the
# pretended under-fitting loss (per-pixel CE clamped at 0.5 once the batch's mean CE < 0.5) on
# the decode and the auxiliary head; SGD lr 0.005 (mmseg's VOC recipe: 0.01), poly 0.9 down to
# 1e-4, total batch 16 (WSSS_MMSeg: 8 GPUs x 2; here 4 x 4), 512 crops, sliding-window test
# (512 / 480). The paper's Res38 row uses a wide ResNet-38 backbone; this is the ResNet-101
# variant (WSSS_MMSeg also ships Res2Net and ScaleNet-101). The cyclic pseudo-mask round is not
# part of this config. The official test (configs/_base_/datasets/pascal_voc12.py:19-33,
# models/pspnet_r50_wsss.py:33 crf=True): scales 0.5-1.75 + flip, mean softmax, dense CRF:
#   .venv/bin/python tools/test.py configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py CKPT \
#       --tta --cfg-options test_crf=True
# (plain `tools/test.py THIS CKPT`: single scale (2048, 512), no CRF).
#   .venv/bin/python tools/make_pseudo_labels.py configs/pmm/pmm-a_r38_voc.py CKPT --out DIR
#       (PPMG masks in DIR/ppmg/*.png, pseudo_label_cfg of that config)
#   .venv/bin/python tools/train.py configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py \
#       --cfg-options pseudo_label_dir=DIR/ppmg   (relative to the working directory)
_base_ = ['mmseg::pspnet/pspnet_r101-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['mmseg_hfpl'], allow_failed_imports=False)
runner_type = 'HFPLRunner'  # the NaN / Inf guard (mmseg:: bases do not set it)
pseudo_label_dir = 'work_dirs/pseudo_labels/voc12aug/ppmg'
data_root = 'data/VOCdevkit/VOC2012'
_puf = dict(type='PretendedUnderFittingLoss', mode='clamp', mean_threshold=0.5, k=0.5)
model = dict(
    decode_head=dict(loss_decode=dict(_delete_=True, **_puf, loss_weight=1.0)),
    auxiliary_head=dict(loss_decode=dict(_delete_=True, **_puf, loss_weight=0.4)),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(480, 480)))
# VOC train_aug (train + aug) with the pseudo-labels as the training masks
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
        dict(type='WSSSVOCDataset', data_root=data_root,
             ann_file=f'ImageSets/Segmentation/{split}.txt',
             data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
             cls_label_file='cls_labels.npy', pipeline=_base_.train_pipeline)
        for split in ('train', 'aug')]))
optim_wrapper = dict(optimizer=dict(lr=0.005))
# --tta: mmseg 0.x MultiScaleFlipAug(img_scale=(2048, 512), img_ratios, flip=True) rescales to
# (int(2048 r), int(512 r)) with the aspect ratio kept (not mmseg 1.x's scale_factor=r of the
# original image); aug_test (encoder_decoder.py:307-319) averages the views' softmax
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_model = dict(type='MeanSegTTAModel', merge='probs')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=(int(2048 * r), int(512 * r)), keep_ratio=True)
         for r in img_ratios],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
    ])
]
# Dense CRF of the test after the TTA merge (tools/test.py wraps the model in crf_model when
# test_crf=True; off by default, on in the official test): encoder_decoder.py:287-305 DenseCRF
# defaults as called at :321-326 (10 iterations; Gaussian sxy 1, compat 3; bilateral sxy 67,
# srgb 3, compat 4; unary -log of the merged softmax) on Image.open(img).convert('RGB') (:323).
test_crf = False
crf_model = dict(
    type='DenseCRFPostProcessor',
    crf=dict(iterations=10, gaussian=(1, 3), bilateral=(67, 3, 4)),
    image_backend='pillow',
    workers=0)
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
