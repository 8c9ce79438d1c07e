# SIPE baseline on PASCAL VOC 2012 train_aug (10,582 images), as the official code:
# RandomResizeLong(320, 640), flip, crop 512 (zero padding outside the image is excluded from
# the seeds by the valid mask), batch 16, 5 epochs, SGD lr 0.1 (x10 head), poly, clip 1.
#   python tools/train.py configs/sipe/sipe_r50_voc.py
# IS-CAM pseudo-labels (scales 1, 0.5, 1.5, 2 + flip, argmax with SIPE's background) and IRN's
# relation labels (label CRF of the argmax, and of the argmax with the background x0.5):
#   python tools/make_pseudo_labels.py configs/sipe/sipe_r50_voc.py CKPT --out DIR
# IRN (configs/irn/irn_r50_voc12aug.py on DIR/ir_label), then the random walk on the IS-CAM^1.5
# (make_seg_labels.py:46-47: the IS-CAM resized bilinearly to the walk's grid, then ^1.5;
# beta 10, 2^8 steps):
#   python tools/refine_pseudo_labels.py configs/irn/irn_r50_voc12aug.py IRN_CKPT
#       --cams DIR/cams --out DIR/irn --beta 10 --logt 8 --cam-power 1.5 --seed-resize bilinear
# SIPE's classifier and side convolutions keep PyTorch's default init (SIPEHead).
# Stage 3: SIPE trains DeepLab-v2 ResNet-101; the closest configs here are
# configs/stage3/deeplabv3plus_r101-d8_voc12aug-pseudo.py and deeplabv3_r101-d8_voc12aug-pseudo.py.
_base_ = [
    '../_base_/models/sipe_r50.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_sipe_5ep.py'
]
log_processor = dict(by_epoch=True)  # the schedule counts epochs
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizeLong', min_size=320, max_size=640),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
# official batch 16 (one process, DataParallel) = the total over all processes: tools/train.py
# trains 16 // world_size images per process
total_batch_size = 16
train_dataloader = dict(
    batch_size=total_batch_size,
    # both train_aug datasets of the base with this pipeline
    dataset=dict(datasets=[dict(split, pipeline=train_pipeline) for split in _base_.train_aug]))
# defaults of tools/make_pseudo_labels.py for this config; with SIPE's own background map the
# thresholds are factors on it: 1 for the labels and IRN's objects, 0.5 for IRN's background
pseudo_label_cfg = dict(scales=(1.0, 0.5, 1.5, 2.0), flip=True, bg_threshold=1.0,
                        label_crf=True,
                        ir_labels=(1.0, 0.5))
