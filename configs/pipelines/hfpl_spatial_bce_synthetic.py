# Spatial-BCE + ISL / FSL: Spatial-BCE's pipeline with the CAM network of
# configs/hfpl/spatial_bce_synthetic.py in every phase.
_base_ = './spatial_bce_synthetic.py'
_cam = 'configs/hfpl/spatial_bce_synthetic.py'
stages = dict(phase1=dict(config=_cam), phase2=dict(config=_cam), phase3=dict(config=_cam))
