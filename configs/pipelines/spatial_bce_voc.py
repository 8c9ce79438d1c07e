# Spatial-BCE's full chain on VOC (allenwu97/Spatial-BCE train_optimal_threshold.sh): three
# trainings of configs/spatial_bce/spatial-bce_r38_voc.py, phase 1 from voc12_init.npy, phases 2
# and 3 from the previous weights with the prior of the previous phase's CRF labels (as that
# config's header says) -> the last phase's IRN relation labels -> IRN ResNet-50 -> its walk
# (beta 10, logt 8, background 0.25) -> DeepLab (ResNet-101) -> VOC val, MS + flip + CRF.
_cam = 'configs/spatial_bce/spatial-bce_r38_voc.py'
_prior = 'model.decode_head.fg_prior'
_later = dict(model=dict(decode_head=dict(fg_prior=dict(file=None))))
stages = dict(
    phase1=dict(kind='train', config=_cam),
    phase1_labels=dict(kind='pseudo_labels', model='phase1', args=dict(workers=8)),
    phase2=dict(kind='train', config=_cam, cfg_options=_later,
                inputs={'load_from': 'phase1', f'{_prior}.label_dir': 'phase1_labels.crf_label'}),
    phase2_labels=dict(kind='pseudo_labels', model='phase2', args=dict(workers=8)),
    phase3=dict(kind='train', config=_cam, cfg_options=_later,
                inputs={'load_from': 'phase2', f'{_prior}.label_dir': 'phase2_labels.crf_label'}),
    pseudo_labels=dict(kind='pseudo_labels', model='phase3', args=dict(workers=8)),
    irn=dict(kind='train', config='configs/irn/irn_r50_voc12aug.py',
             inputs=dict(pseudo_label_dir='pseudo_labels.ir_label')),
    random_walk=dict(kind='refine', model='irn', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=10, logt=8, bg_threshold=0.25, workers=8)),
    segmentor=dict(kind='train', config='configs/stage3/deeplabv3_r101-d8_voc12aug-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.crf_label',
                          random_walk='random_walk', prediction='segmentor'))
