# The fully supervised reference of configs/pipelines/seam_effnet_msrc.py: the same segmentor,
# schedule and test, trained on the real masks of the same 320 MSRC train images instead of
# pseudo-labels (the usual upper bound of WSSS papers).
#   python tools/train.py THIS && python tools/test.py THIS CKPT --tta [--cfg-options test_crf=True]
_base_ = './deeplabv3plus_effnet_msrc-pseudo.py'
pseudo_label_dir = None
train_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path='SegmentationClass')))
