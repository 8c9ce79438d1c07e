# SEAM's three stages at CPU size on real photographs, the MSRC-v2 copy (../shared/data/msrc_voc:
# 320 train, 80 val images): SEAM-EfficientNet (configs/seam/seam_effnet_msrc.py, 240 iterations)
# -> CAMs of the train images at scales 0.5 and 1 + flip (long sides 160 and 320, the range the
# CAM network trains on, 160-288; SEAM: 0.5-2 of VOC's ~500 px around its 448-768; scales 1.5
# and 2 cost 5x more here), the CRF at SEAM's alphas 4 / 24 and AffinityNet's labels ->
# AffinityNet on EfficientNet-Lite0 -> the random walk (beta 8, logt 6, background alpha 6; its
# labels scored on the 320 train images) -> DeepLabV3+ EfficientNet-Lite0 on the walk's
# labels -> the 80 val images, multi-scale + flip, then with the dense CRF (seam_voc.py's chain).
# Every stage trains and scores on the class-stratified 320 / 80 split of msrc_split.py (the
# copy's own split holds out whole photo rows, see there); the CAM config keeps the copy's
# train.txt for the CAM-stage studies, so its loaders are pointed at the split here.
#   .venv/bin/python tools/run_pipeline.py configs/pipelines/seam_effnet_msrc.py
_base_ = '../_base_/datasets/msrc_split.py'
_train_images = dict(dataset=_base_.msrc_train)
stages = dict(
    cam=dict(kind='train', config='configs/seam/seam_effnet_msrc.py',
             cfg_options=dict(train_dataloader=_train_images, val_dataloader=_train_images,
                              test_dataloader=_train_images)),
    pseudo_labels=dict(kind='pseudo_labels', model='cam',
                       args=dict(scales=[0.5, 1.0], crf=[4, 24], affinity_labels=True)),
    affinity=dict(kind='train', config='configs/affinity/affinitynet_effnet_msrc.py',
                  inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf')),
    random_walk=dict(kind='refine', model='affinity', inputs=dict(cams='pseudo_labels.cams'),
                     args=dict(beta=8, logt=6, bg_alpha=6)),
    segmentor=dict(kind='train', config='configs/stage3/deeplabv3plus_effnet_msrc-pseudo.py',
                   inputs=dict(pseudo_label_dir='random_walk')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.crf_a4',
                          random_walk='random_walk', prediction='segmentor'))
