# PMM + ISL / FSL: PMM's pipeline with the stage-A network of configs/hfpl/pmm_synthetic.py.
_base_ = './pmm_synthetic.py'
stages = dict(cam=dict(config='configs/hfpl/pmm_synthetic.py'))
