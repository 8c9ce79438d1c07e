# PMM's segmentation stage at CPU size on the embedded dataset: a small PSPNet (ResNetV1c-18, 16
# base channels, BN) trained on the PPMG pseudo-masks with the pretended under-fitting loss, as
# configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py (whose --tta / test_crf settings it keeps:
# PMM's dense CRF, 10 iterations). Labels: --cfg-options pseudo_label_dir=DIR/ppmg.
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py', '../_base_/datasets/synthetic_voc_pseudo.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py',
    '../_base_/test_time/seam_final_test.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
_puf = dict(type='PretendedUnderFittingLoss', mode='clamp', mean_threshold=0.5, k=0.5)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(112, 112)),
    backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=128, channels=32, num_classes=6, norm_cfg=norm_cfg,
                     loss_decode=dict(_delete_=True, **_puf, loss_weight=1.0)),
    auxiliary_head=dict(in_channels=64, channels=16, num_classes=6, norm_cfg=norm_cfg,
                        loss_decode=dict(_delete_=True, **_puf, loss_weight=0.4)))
val_dataloader = dict(dataset=dict(ann_file='ImageSets/Segmentation/val.txt'))
test_dataloader = val_dataloader
custom_hooks = []
# PMM's test (WSSS_MMSeg): the mean of the views' softmax and its dense CRF
tta_model = dict(type='MeanSegTTAModel', merge='probs')
crf_model = dict(crf=dict(iterations=10, gaussian=(1, 3), bilateral=(67, 3, 4)),
                 image_backend='pillow')
