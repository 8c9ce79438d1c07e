# SEAM baseline on PASCAL VOC 2012 train_aug (10,582 images), as the official code:
# RandomResizeLong(448, 768), flip, ColorJitter(0.3, 0.3, 0.3, 0.1), crop 448, batch 8, 8 epochs.
#   python tools/train.py configs/seam/seam_r38_voc.py
# Pseudo-labels (multi-scale 0.5-2 + flip cam_rv, CRF at alpha 4 and 24 for AffinityNet, the
# paper's reading for the baseline; hfpl's scripts use 1 and 24 for every run:
# seam_r38_voc_official-alpha.py):
#   python tools/make_pseudo_labels.py configs/seam/seam_r38_voc.py CKPT --out DIR
# (the settings below are the defaults of that tool for this config).
_base_ = [
    '../_base_/models/seam_r38.py', '../_base_/datasets/voc12_aug.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_seam_8ep.py'
]
# mmpretrain provides torchvision's ColorJitter as an OpenMMLab transform
custom_imports = dict(imports=['mmseg_hfpl', 'mmpretrain.datasets'], allow_failed_imports=False)
log_processor = dict(by_epoch=True)  # the schedule counts epochs
crop_size = (448, 448)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizeLong', min_size=448, max_size=768),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackWSSSInputs'),
]
# the official batch of 8 is the total over all GPUs: tools/train.py trains 8 // world_size
# images per process (tools/dist_train.sh with 1, 2, 4 or 8 processes)
total_batch_size = 8
train_dataloader = dict(
    batch_size=total_batch_size,
    # both train_aug datasets of the base with this pipeline
    dataset=dict(datasets=[dict(split, pipeline=train_pipeline) for split in _base_.train_aug]))
# defaults of tools/make_pseudo_labels.py for this config
# the official SEAM / hfpl inference min-max normalises the summed CAMs (infer_SEAM.py)
pseudo_label_cfg = dict(scales=(0.5, 1.0, 1.5, 2.0), flip=True, cam_norm='min_max',
                        crf_alphas=(4, 24), affinity_labels=True)
