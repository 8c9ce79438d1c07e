# AffinityNet of SEAM / hfpl on VOC 2012 train_aug: ResNet-38 (conv4, conv5, conv6 -> 64, 128,
# 256 -> 448 with ELU), radius 5, crop 448 + flip + ColorJitter (no rescaling), batch 8,
# 8 epochs, lr 0.01 (x10 for the new layers), weight decay 5e-4, poly 0.9, and SEAM's momentum
# quirk (see configs/_base_/schedules/schedule_seam_8ep.py). Labels from the CAM config's CRFs
# (alphas 4 / 24 for SEAM, 1 / 24 with the add-on):
#   python tools/make_pseudo_labels.py configs/hfpl/seam_voc.py CKPT --out DIR
# Random walk (beta 8, logt 6, background alpha 6):
#   python tools/refine_pseudo_labels.py THIS AFF_CKPT --cams DIR/cams --out DIR/aff \
#       --beta 8 --logt 6 --bg-alpha 6
_base_ = './affinitynet_r50-d8_voc12aug.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet38d',
        out_indices=(1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet38d_ilsvrc.pth')),
    in_index=(0, 1, 2),
    in_channels=(512, 1024, 4096))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'projs': dict(lr_mult=10.0), 'fuse': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=10576,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10576, val_interval=100000)
default_hooks = dict(checkpoint=dict(interval=10576))
