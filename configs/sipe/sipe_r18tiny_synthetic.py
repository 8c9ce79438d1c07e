# CPU-sized SIPE on the embedded dataset: a ResNet-18 with 16 base channels from scratch (so
# BatchNorm trains and nothing is frozen), output stride 8 (14x14 CAMs on the 112 crops; the
# full-size network has stride 16), narrow side convolutions, the demo's CPU schedule with
# SIPE's gradient clipping.
#   python tools/train.py configs/sipe/sipe_r18tiny_synthetic.py
#   python tools/make_pseudo_labels.py configs/sipe/sipe_r18tiny_synthetic.py CKPT --out DIR
_base_ = [
    '../_base_/models/sipe_r50.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py'
]
model = dict(
    data_preprocessor=dict(size=(112, 112)),
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 1, 1),
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(
        in_channels=(16, 32, 64, 128), channels=128, side_channels=(16, 16, 32, 32),
        num_classes=6))
optim_wrapper = dict(clip_grad=dict(_delete_=True, max_norm=1.0, norm_type=2))
pseudo_label_cfg = dict(bg_threshold=1.0, label_crf=True,
                        ir_labels=(1.0, 0.5))
