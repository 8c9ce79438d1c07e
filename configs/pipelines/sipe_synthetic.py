# SIPE's chain (chenqi1126/SIPE run_sample.py: train_resnet50_SIPE -> make_cam -> cam_to_ir_label
# -> train_irn -> make_sem_seg_labels, then DeepLab) on the embedded data at CPU size. The CAM
# stage writes the IS-CAM labels, their label CRF and IRN's relation labels (pseudo_label_cfg of
# the SIPE config); the walk: beta 10, 2^8 steps on the IS-CAM^1.5 resized bilinearly.
stages = dict(
    cam=dict(kind='train', config='configs/sipe/sipe_r18tiny_synthetic.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam'),
    irn=dict(kind='train', config='configs/irn/irn_r18tiny_synthetic.py',
             inputs=dict(pseudo_label_dir='pseudo_labels.ir_label')),
    random_walk=dict(kind='refine', model='irn', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=10, logt=8, cam_power=1.5, seed_resize='bilinear')),
    segmentor=dict(kind='train',
                   config='configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=2, cam='pseudo_labels', crf='pseudo_labels.crf_label',
                          random_walk='random_walk', prediction='segmentor'))
