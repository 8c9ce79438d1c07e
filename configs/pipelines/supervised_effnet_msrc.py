# The fully supervised reference of seam_effnet_msrc.py: its segmentor (DeepLabV3+
# EfficientNet-Lite0, the same schedule) trained on the real masks of the same 320 MSRC train
# images, tested as the pipelines' final stage (the 80 val images, multi-scale + flip, then with
# the dense CRF).
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/supervised_effnet_msrc.py
_base_ = './seam_effnet_msrc.py'
stages = dict(
    _delete_=True,
    segmentor=dict(kind='train', config='configs/stage3/deeplabv3plus_effnet_msrc-gt.py'),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)))
report = dict(_delete_=True)
