# PMM's segmentation stage (Eli-YiLi/WSSS_MMSeg, configs/pspnet_wsss/*_20k_voc12aug_pus.py):
# PSPNet trained for 20k iterations on the PPMG pseudo-masks of VOC train_aug with the
# pretended under-fitting loss (per-pixel CE clamped at 0.5 once the batch's mean CE < 0.5) on
# the decode and the auxiliary head; SGD lr 0.005 (mmseg's VOC recipe: 0.01), poly 0.9 down to
# 1e-4, total batch 16 (WSSS_MMSeg: 8 GPUs x 2; here 4 x 4), 512 crops, sliding-window test
# (512 / 480). The paper's Res38 row uses a wide ResNet-38 backbone; this is the ResNet-101
# variant (WSSS_MMSeg also ships Res2Net and ScaleNet-101). Its dense-CRF test and the cyclic
# pseudo-mask round are not part of this config.
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
_train = dict(
    type='WSSSVOCDataset',
    data_root=data_root,
    data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
    cls_label_file='cls_labels.npy',
    pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[
            dict(**_train, ann_file='ImageSets/Segmentation/train.txt'),
            dict(**_train, ann_file='ImageSets/Segmentation/aug.txt'),
        ]))
optim_wrapper = dict(optimizer=dict(lr=0.005))
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
