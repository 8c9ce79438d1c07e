# Stage 3: DeepLabV3+ ResNet-101 (mmseg's VOC12-aug recipe, 4 GPUs x 4 images, SyncBN, 40k
# iterations) trained on pseudo-labels of the 10,582 train_aug images instead of the masks, and
# evaluated on the real VOC val masks with J (mIoU), F (boundary F) and J&F.
# Set pseudo_label_dir to the labels to train on (e.g. the `crf_a1` or refined directory written
# by tools/make_pseudo_labels.py), relative to the working directory:
#   --cfg-options pseudo_label_dir=DIR   (tools/train.py points both training datasets at it)
_base_ = ['mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py']
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
