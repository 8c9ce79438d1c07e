# PMM + ISL / FSL on VOC: PMM's pipeline with the stage-A network of configs/hfpl/pmm_voc.py.
_base_ = './pmm_voc.py'
stages = dict(cam=dict(config='configs/hfpl/pmm_voc.py'))
