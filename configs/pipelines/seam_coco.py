# SEAM's full chain on COCO 2014 (arvijj/hfpl run_coco.sh; the paper's Table 3 baseline): SEAM
# ResNet-38 on train2014 -> multi-scale + flip CAMs of train2014 (scored on val2014), the CRF at
# alphas 4 / 24 and AffinityNet's labels -> AffinityNet ResNet-38, 8 epochs -> the random walk ->
# DeepLab-v1 LargeFOV ResNet-38 (81 classes, 200,000 iterations, batch 10) -> val2014 with
# multi-scale + flip, then with the dense CRF. Data: tools/dataset_converters/coco2014.py.
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/seam_coco.py --gpus 4
_base_ = './seam_voc.py'
stages = dict(
    cam=dict(config='configs/seam/seam_r38_coco.py'),
    affinity=dict(config='configs/affinity/affinitynet_r38_coco.py'),
    segmentor=dict(config='configs/stage3/deeplabv1-largefov_r38_coco-pseudo.py'))
