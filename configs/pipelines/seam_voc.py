# SEAM's full chain on PASCAL VOC 2012 (YudeWang/SEAM README; the final stage of
# semantic-segmentation-codebase experiment/seamv1-pseudovoc): SEAM ResNet-38 on train_aug ->
# multi-scale + flip CAMs of train_aug, the CRF at alphas 4 / 24 and AffinityNet's labels
# (scored on VOC train) -> AffinityNet ResNet-38 -> the random walk (beta 8, logt 6, background
# alpha 6) -> DeepLab-v1 LargeFOV ResNet-38 on the walk's labels -> VOC val single-scale, then
# multi-scale + flip, then with the dense CRF (the paper's Table 2 protocol).
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/seam_voc.py --gpus 4
stages = dict(
    cam=dict(kind='train', config='configs/seam/seam_r38_voc.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam',
                       args=dict(crf=[4, 24], affinity_labels=True, workers=8)),
    affinity=dict(kind='train', config='configs/affinity/affinitynet_r38_voc12aug.py',
                  inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf')),
    random_walk=dict(kind='refine', model='affinity', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=8, logt=6, bg_alpha=6, workers=8)),
    segmentor=dict(kind='train', config='configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True, crf_model=dict(workers=8))),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.crf_a4',
                          random_walk='random_walk', prediction='segmentor'))
