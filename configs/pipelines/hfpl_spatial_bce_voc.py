# Spatial-BCE + ISL / FSL on VOC: Spatial-BCE's pipeline with the CAM network of
# configs/hfpl/spatial_bce_voc.py in every phase.
_base_ = './spatial_bce_voc.py'
_cam = 'configs/hfpl/spatial_bce_voc.py'
stages = dict(phase1=dict(config=_cam), phase2=dict(config=_cam), phase3=dict(config=_cam))
