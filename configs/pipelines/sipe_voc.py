# SIPE's full chain on VOC (chenqi1126/SIPE run_sample.py): SIPE ResNet-50 -> IS-CAMs, their
# label CRF and IRN's relation labels -> IRN ResNet-50 -> the walk on the IS-CAM^1.5 (beta 10,
# 2^8 steps, bilinear seeds) -> DeepLab (ResNet-101, the closest mmseg recipe to the DeepLab-V2
# of the paper) -> VOC val with multi-scale + flip + dense CRF.
stages = dict(
    cam=dict(kind='train', config='configs/sipe/sipe_r50_voc.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam', args=dict(workers=8)),
    irn=dict(kind='train', config='configs/irn/irn_r50_voc12aug.py',
             inputs=dict(pseudo_label_dir='pseudo_labels.ir_label')),
    random_walk=dict(kind='refine', model='irn', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=10, logt=8, cam_power=1.5, seed_resize='bilinear',
                               workers=8)),
    segmentor=dict(kind='train', config='configs/stage3/deeplabv3_r101-d8_voc12aug-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.crf_label',
                          random_walk='random_walk', prediction='segmentor'))
