# MCTformer-V2's chain (xulianuwa/MCTformer run.sh + run_psa.sh: the class-token CAMs, the CRF at
# alphas 1 and 12, PSA's AffinityNet, infer_aff.py's walk with the constant 0.39 background
# seed, then DeepLab) on the embedded data at CPU size.
stages = dict(
    cam=dict(kind='train', config='configs/mctformer/mctformer-v2_vit-tiny_synthetic.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam',
                       args=dict(crf=[1, 12], affinity_labels=True)),
    affinity=dict(kind='train', config='configs/affinity/affinitynet_r18tiny_synthetic.py',
                  inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf')),
    random_walk=dict(kind='refine', model='affinity', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=8, logt=6, bg_seed=0.39)),
    segmentor=dict(kind='train',
                   config='configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=2, cam='pseudo_labels', crf='pseudo_labels.crf_a1',
                          random_walk='random_walk', prediction='segmentor'))
