# SEAM's chain (YudeWang/SEAM README: train_SEAM.py -> infer_SEAM.py, CAMs + CRF at the low and
# high alpha -> train_aff.py -> infer_aff.py, the random walk -> the DeepLab stage of
# semantic-segmentation-codebase, tested with multi-scale + flip + dense CRF) on the embedded
# data at CPU size: the narrow ResNet-38 SEAM, the r18tiny AffinityNet and DeepLabV3+.
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/seam_synthetic.py
stages = dict(
    cam=dict(kind='train', config='configs/seam/seam_r38tiny_synthetic.py'),
    # multi-scale CAMs, threshold labels, the CRF at both alphas, AffinityNet's labels
    pseudo_labels=dict(kind='pseudo_labels', model='cam',
                       args=dict(crf=[4, 24], affinity_labels=True)),
    affinity=dict(kind='train', config='configs/affinity/affinitynet_r18tiny_synthetic.py',
                  inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf')),
    # PSA / SEAM infer_aff.py: beta 8, logt 6, background (1 - max)^6
    random_walk=dict(kind='refine', model='affinity', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=8, logt=6, bg_alpha=6)),
    segmentor=dict(kind='train',
                   config='configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=2, cam='pseudo_labels', crf='pseudo_labels.crf_a4',
                          random_walk='random_walk', prediction='segmentor'))
