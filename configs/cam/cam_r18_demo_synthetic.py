# Baseline of the demo: a plain CAM classifier (GAP loss only) on the embedded dataset.
_base_ = [
    '../_base_/models/cam_r18_tiny.py', '../_base_/datasets/synthetic_voc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_demo_cpu.py'
]
