# Stage 3 with an ASPP head without decoder (mmseg's DeepLabV3 ResNet-101): the closest recipe
# mmseg ships to the DeepLab-V2 of the WSSS literature (which sums four atrous branches and has
# no image-pooling branch). Pseudo-labels as in deeplabv3plus_r101-d8_voc12aug-pseudo.py.
_base_ = ['mmseg::deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py']
custom_imports = dict(imports=['mmseg_hfpl'], allow_failed_imports=False)
runner_type = 'HFPLRunner'  # the NaN / Inf guard (mmseg:: bases do not set it)
pseudo_label_dir = 'work_dirs/pseudo_labels/voc12aug/crf_a1'
data_root = 'data/VOCdevkit/VOC2012'
# VOC train_aug (train + aug) with the pseudo-labels as the training masks
train_dataloader = dict(
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[
        dict(type='WSSSVOCDataset', data_root=data_root,
             ann_file=f'ImageSets/Segmentation/{split}.txt',
             data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
             cls_label_file='cls_labels.npy', pipeline=_base_.train_pipeline)
        for split in ('train', 'aug')]))
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']), dict(type='BoundaryFMetric')]
test_evaluator = val_evaluator
