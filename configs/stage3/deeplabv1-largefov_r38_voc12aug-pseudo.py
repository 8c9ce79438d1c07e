# Stage 3 of SEAM / hfpl: DeepLab-v1 LargeFOV on ResNet-38 trained on the random-walk
# pseudo-labels of VOC train_aug (HSV jitter +-10, flip, scale 0.5-1.5, crop 448, batch 10,
# lr 1e-3, poly, 20k iterations; hfpl train_final_voc.py, voc12/config_voc2012.py), evaluated
# on VOC val with J, F, J&F. The official never calls net.train(), so the backbone's BN-freezing
# train() override never runs: every BN normalises with the batch statistics (running-stat
# momentum 3e-4, config_voc2012.py:35, lib/net/backbone/resnet38d.py:8) and its affine
# parameters stay fixed, because get_parameter_groups (lib/net/deeplabv1.py:56-72) collects
# convolutions only: here requires_grad=False keeps them out of the optimiser. The official test
# (YudeWang/semantic-segmentation-codebase experiment/seamv1-pseudovoc/config.py:46-48, test.py;
# hfpl eval_final_voc.py, voc12/config_voc2012.py:43-45): scales 0.5-1.75 + flip, the mean of
# the logits, softmax, dense CRF on the image:
#   tools/test.py THIS CKPT --tta --cfg-options test_crf=True
# (plain `tools/test.py THIS CKPT`: single scale, no CRF).
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py', '../_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py'
]
pseudo_label_dir = 'work_dirs/pseudo_labels/voc12aug/aff'
data_root = 'data/VOCdevkit/VOC2012'
crop_size = (448, 448)
norm_cfg = dict(type='SyncBN', requires_grad=False, momentum=3e-4)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='ResNet38d',
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38d_ilsvrc.pth')),
    decode_head=dict(
        type='LargeFOVHead',
        in_channels=4096,
        channels=512,
        in_index=0,
        dilation=12,
        num_classes=21,
        dropout_ratio=0.5,  # element-wise (nn.Dropout), as lib/net/deeplabv1.py:25
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # the official order (lib/datasets/BaseDataset.py:88-98): HSV, flip, scale, crop
    dict(type='RandomHSV', h_range=10, s_range=10, v_range=10),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.5, 1.5), keep_ratio=True,
         interpolation='bicubic'),
    # uniform crop, short sides at a random offset in the 448 container, padded with the mean
    # (BGR here: the official pads the normalised image with 0) and 255
    dict(type='RandomContainerCrop', crop_size=crop_size, pad_val=(103.53, 116.28, 123.675),
         seg_pad_val=255),
    dict(type='PackSegInputs'),
]
total_batch_size = 10  # hfpl train_final: 10 over all GPUs (tools/train.py splits it)
# VOC train_aug (train + aug) with the pseudo-labels as the training masks
train_dataloader = dict(
    batch_size=total_batch_size,
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
        dict(type='WSSSVOCDataset', data_root=data_root,
             ann_file=f'ImageSets/Segmentation/{split}.txt',
             data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
             cls_label_file='cls_labels.npy', pipeline=train_pipeline)
        for split in ('train', 'aug')]))
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
# official: cv2 INTER_CUBIC rescaling of each view (lib/datasets/transform.py:170-181; of the
# normalised float image, here of the uint8 one; sizes r * side = k + 0.5 rounded half up here,
# half to even there: 1 px) and the softmax of the views' mean logits (test.py:80-88)
tta_model = dict(type='MeanSegTTAModel', merge='logits')
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale_factor=r, keep_ratio=True, interpolation='bicubic')
         for r in img_ratios],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
    ])
]
# Dense CRF of the test (tools/test.py wraps the model in crf_model when test_crf=True; off by
# default, on in the official test: TEST_CRF=True): lib/utils/DenseCRF.py:dense_crf as called in
# test.py:91-95 (n_iters=1; Gaussian sxy 3, compat 3; bilateral sxy 32, srgb 13, compat 10;
# unary -log of the softmax) on the image as cv2.imread reads it (converted to RGB; official:
# img_denorm of the normalised image, which its uint8 cast can leave 1 grey level lower).
# crf_model.workers=N runs the CRFs of a test batch in N processes.
test_crf = False
crf_model = dict(
    type='DenseCRFPostProcessor',
    crf=dict(iterations=1, gaussian=(3, 3), bilateral=(32, 13, 10)),
    image_backend='cv2',
    workers=0)
# train_final_voc.py:79-88 with get_parameter_groups: backbone convolution weights x1 and the
# head's (conv_fov, conv_fov2, cls_conv) x10, both with weight decay; the classifier bias x20
# without; the backbone has no conv biases (x2 group empty); BN not optimised (norm_cfg above).
# SGD momentum 0.9 is a keyword there (no PolyOptimizer quirk).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.0),
        'decode_head.conv_seg.bias': dict(lr_mult=20.0, decay_mult=0.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=20000,
                        by_epoch=False)]
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
