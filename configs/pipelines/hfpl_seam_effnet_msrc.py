# SEAM-EfficientNet + ISL / FSL (the binomial add-on) through the three stages on MSRC: the CAM
# network of configs/hfpl/msrc/ and the add-on's low CRF alpha (1 instead of 4).
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/hfpl_seam_effnet_msrc.py
_base_ = './seam_effnet_msrc.py'
stages = dict(
    cam=dict(config='configs/hfpl/msrc/seam_effnet_msrc_isl_fsl.py'),
    pseudo_labels=dict(args=dict(crf=[1, 24])))
report = dict(panels=dict(crf='pseudo_labels.crf_a1'))
