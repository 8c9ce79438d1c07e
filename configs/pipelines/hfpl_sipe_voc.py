# SIPE + ISL / FSL on VOC: SIPE's pipeline with the CAM network of configs/hfpl/sipe_voc.py.
_base_ = './sipe_voc.py'
stages = dict(cam=dict(config='configs/hfpl/sipe_voc.py'))
