# MCTformer-V2's full chain on VOC (xulianuwa/MCTformer run.sh and run_psa.sh): MCTformer-V2
# DeiT-S -> class-token CAMs, the CRF at alphas 1 / 12 and AffinityNet's labels -> PSA's
# AffinityNet ResNet-38 from psa's res38_cls.pth (configs/affinity/affinitynet_r38_voc12aug-
# mctformer.py) -> psa/infer_aff.py's walk (beta 8, logt 6, background seed 0.39) -> DeepLab-v1
# LargeFOV ResNet-38 (seamv1-pseudovoc, as MCTformer's README) -> VOC val, MS + flip + CRF.
stages = dict(
    cam=dict(kind='train', config='configs/mctformer/mctformer-v2_deit-s_voc.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam',
                       args=dict(crf=[1, 12], affinity_labels=True, workers=8)),
    affinity=dict(kind='train', config='configs/affinity/affinitynet_r38_voc12aug-mctformer.py',
                  inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf')),
    random_walk=dict(kind='refine', model='affinity', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=8, logt=6, bg_seed=0.39, workers=8)),
    segmentor=dict(kind='train', config='configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.crf_a1',
                          random_walk='random_walk', prediction='segmentor'))
