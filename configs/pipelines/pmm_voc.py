# PMM's full chain on VOC (Eli-YiLi/PMM + Eli-YiLi/WSSS_MMSeg): stage A
# (configs/pmm/pmm-a_r38_voc.py) -> its CAMs, the CRF at alpha 24 and the PPMG pseudo-masks ->
# PSPNet ResNet-101 with the pretended under-fitting loss on them -> VOC val, multi-scale +
# flip + PMM's dense CRF.
stages = dict(
    cam=dict(kind='train', config='configs/pmm/pmm-a_r38_voc.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam', args=dict(workers=8)),
    segmentor=dict(kind='train', config='configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py',
                   inputs=dict(pseudo_label_dir='pseudo_labels.ppmg')),
    test=dict(kind='test', model='segmentor', args=dict(tta=True)),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=4, cam='pseudo_labels', crf='pseudo_labels.ppmg',
                          prediction='segmentor'))
