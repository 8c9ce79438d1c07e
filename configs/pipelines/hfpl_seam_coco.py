# SEAM + ISL / FSL on COCO 2014 (the paper's Table 3 row): SEAM's COCO pipeline with the CAM
# network of configs/hfpl/seam_coco.py and the hfpl code's low CRF alpha 1.
_base_ = './seam_coco.py'
stages = dict(
    cam=dict(config='configs/hfpl/seam_coco.py'),
    pseudo_labels=dict(args=dict(crf=[1, 24])))
report = dict(panels=dict(crf='pseudo_labels.crf_a1'))
