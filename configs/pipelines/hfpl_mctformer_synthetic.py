# MCTformer-V2 + ISL / FSL: MCTformer's pipeline with the CAM network of
# configs/hfpl/mctformer_synthetic.py.
_base_ = './mctformer_synthetic.py'
stages = dict(cam=dict(config='configs/hfpl/mctformer_synthetic.py'))
