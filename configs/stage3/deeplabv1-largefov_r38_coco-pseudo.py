# Stage 3 of hfpl on COCO 2014 (run_coco.sh: train_final_coco.py with coco/config_coco2014.py,
# eval_final_coco.py): the DeepLab-v1 LargeFOV ResNet-38 of
# deeplabv1-largefov_r38_voc12aug-pseudo.py (its crop, scales, batch 10, lr, BN, test) with 81
# classes, trained on the random-walk labels of train2014 (DATA_AUG False: train2014.txt) for
# 200,000 iterations (TRAIN_ITERATION; VOC 20,000) and tested on val2014 with the official test:
#   python tools/train.py THIS --cfg-options pseudo_label_dir=DIR/aff
#   python tools/test.py THIS CKPT --tta --cfg-options test_crf=True
# The official trains without validating; here val2014 (40,504 images) is evaluated once, at the
# end, and a checkpoint is kept every 20,000 iterations.
_base_ = './deeplabv1-largefov_r38_voc12aug-pseudo.py'
data_root = 'data/coco2014_voc'
pseudo_label_dir = 'work_dirs/pseudo_labels/coco2014/aff'
model = dict(decode_head=dict(num_classes=81))
_coco = dict(type='WSSSCOCODataset', data_root=data_root, cls_label_file='cls_labels.npy')
train_dataloader = dict(dataset=dict(
    _delete_=True, **_coco, ann_file='ImageSets/Segmentation/train.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir),
    pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(
    _delete_=True, **_coco, ann_file='ImageSets/Segmentation/val.txt',
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
_iters = 200000
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=_iters,
                        by_epoch=False)]
train_cfg = dict(max_iters=_iters, val_interval=_iters)
default_hooks = dict(checkpoint=dict(interval=20000))
