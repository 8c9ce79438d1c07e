# CPU-sized SEAM on the embedded dataset: a narrow ResNet-38 (base 16 channels, conv6 1024) from
# scratch (so BatchNorm trains and nothing is frozen), 112 crops, the demo's CPU schedule.
#   python tools/train.py configs/seam/seam_r38tiny_synthetic.py
_base_ = [
    '../_base_/models/seam_r38.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py'
]
model = dict(
    data_preprocessor=dict(size=(112, 112)),
    backbone=dict(
        base_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    decode_head=dict(in_channels=(128, 256, 1024), channels=1024, num_classes=6),
    test_cfg=dict(bg_threshold=0.3))
pseudo_label_cfg = dict(cam_norm='min_max', crf_alphas=(4, 24), affinity_labels=True)
