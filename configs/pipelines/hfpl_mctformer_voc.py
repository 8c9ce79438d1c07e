# MCTformer-V2 + ISL / FSL on VOC: MCTformer's pipeline with the CAM network of
# configs/hfpl/mctformer_voc.py.
_base_ = './mctformer_voc.py'
stages = dict(cam=dict(config='configs/hfpl/mctformer_voc.py'))
