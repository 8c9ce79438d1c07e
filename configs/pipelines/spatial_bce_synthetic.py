# Spatial-BCE's chain (allenwu97/Spatial-BCE train_optimal_threshold.sh: three trainings, each
# phase's prior from the label CRF of the previous phase's CAM labels (make_crf.py +
# create_fg.py), phase 2 and 3 starting from the previous weights; then IRN on the last phase's
# relation labels (fg 0.60 / bg 0.25) and its walk, then DeepLab) on the embedded data at CPU size.
_cam = 'configs/spatial_bce/spatial-bce_r38tiny_synthetic.py'
_prior = 'model.decode_head.fg_prior'
stages = dict(
    phase1=dict(kind='train', config=_cam),
    phase1_labels=dict(kind='pseudo_labels', model='phase1', args=dict(label_crf=True)),
    phase2=dict(kind='train', config=_cam,
                inputs={'load_from': 'phase1', f'{_prior}.label_dir': 'phase1_labels.crf_label'}),
    phase2_labels=dict(kind='pseudo_labels', model='phase2', args=dict(label_crf=True)),
    phase3=dict(kind='train', config=_cam,
                inputs={'load_from': 'phase2', f'{_prior}.label_dir': 'phase2_labels.crf_label'}),
    pseudo_labels=dict(kind='pseudo_labels', model='phase3', args=dict(label_crf=True)),
    irn=dict(kind='train', config='configs/irn/irn_r18tiny_synthetic.py',
             inputs=dict(pseudo_label_dir='pseudo_labels.ir_label')),
    random_walk=dict(kind='refine', model='irn', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=10, logt=8, bg_threshold=0.25)),
    segmentor=dict(kind='train',
                   config='configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=2, cam='pseudo_labels', crf='pseudo_labels.crf_label',
                          random_walk='random_walk', prediction='segmentor'))
