# SIPE + ISL / FSL: SIPE's pipeline with the CAM network of configs/hfpl/sipe_synthetic.py.
_base_ = './sipe_synthetic.py'
stages = dict(cam=dict(config='configs/hfpl/sipe_synthetic.py'))
