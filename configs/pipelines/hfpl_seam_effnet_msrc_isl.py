# SEAM-EfficientNet + ISL alone (binomial) through the three stages on MSRC (Table 4 ablation).
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/hfpl_seam_effnet_msrc_isl.py
_base_ = './hfpl_seam_effnet_msrc.py'
stages = dict(cam=dict(config='configs/hfpl/msrc/seam_effnet_msrc_isl.py'))
