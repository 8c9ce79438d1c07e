# SEAM + ISL / FSL (the add-on): SEAM's pipeline with the CAM network of configs/hfpl/ and the
# low CRF alpha of the hfpl code (1 instead of 4).
_base_ = './seam_synthetic.py'
stages = dict(
    cam=dict(config='configs/hfpl/seam_synthetic.py'),
    pseudo_labels=dict(args=dict(crf=[1, 24])))
report = dict(panels=dict(crf='pseudo_labels.crf_a1'))
