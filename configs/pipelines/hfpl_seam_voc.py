# SEAM + ISL / FSL on VOC (the paper's Table 2 row): SEAM's pipeline with the CAM network of
# configs/hfpl/seam_voc.py and the hfpl code's low CRF alpha 1.
_base_ = './seam_voc.py'
stages = dict(
    cam=dict(config='configs/hfpl/seam_voc.py'),
    pseudo_labels=dict(args=dict(crf=[1, 24])))
report = dict(panels=dict(crf='pseudo_labels.crf_a1'))
