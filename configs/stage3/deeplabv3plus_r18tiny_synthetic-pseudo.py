# Stage 3 at CPU size: a small DeepLabV3+ (ResNetV1c-18, 16 base channels, BN) trained on the
# pseudo-labels of the embedded dataset's training images and evaluated on its `val` split with
# the real masks. Produce the labels first, e.g.
#   .venv/bin/python tools/make_pseudo_labels.py configs/hfpl/demo_synthetic.py CKPT \
#       --out work_dirs/demo_synthetic/pseudo_labels --crf 1 24
# and pick the label directory with --cfg-options pseudo_label_dir=DIR (relative to the working
# directory; default: work_dirs/demo_synthetic/pseudo_labels/crf_a1).
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py', '../_base_/datasets/synthetic_voc_pseudo.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py',
    '../_base_/test_time/seam_final_test.py'
]
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=(112, 112)),
    backbone=dict(depth=18, stem_channels=16, base_channels=16, norm_cfg=norm_cfg),
    decode_head=dict(
        in_channels=128, channels=64, c1_in_channels=16, c1_channels=16, num_classes=6,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=64, channels=32, num_classes=6, norm_cfg=norm_cfg))
# the segmentor is scored on the held-out `val` images with their real masks
val_dataloader = dict(dataset=dict(ann_file='ImageSets/Segmentation/val.txt'))
test_dataloader = val_dataloader
custom_hooks = []
# The official final-stage test of SEAM / hfpl at CPU size (as deeplabv1-largefov_r38_voc12aug-
# pseudo.py): scales 0.5-1.75 + flip, the softmax of the mean logits (--tta), and the dense CRF
# of SEAM's DeepLab stage (test_crf=True), e.g.
#   .venv/bin/python tools/test.py THIS work_dirs/seg/iter_1500.pth --tta \
#       --cfg-options test_crf=True
