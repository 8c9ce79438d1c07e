# PMM's chain (Eli-YiLi/PMM: stage A (the SEAM-based CAM network), the proportional pseudo-mask
# generation (PPMG) from its CAMs, then Eli-YiLi/WSSS_MMSeg's PSPNet with the pretended
# under-fitting loss, tested with multi-scale + flip + dense CRF) on the embedded data at CPU
# size. The CAM stage's pseudo_label_cfg writes the CRF (alpha 24) and PPMG labels.
stages = dict(
    cam=dict(kind='train', config='configs/pmm/pmm-a_r38tiny_synthetic.py'),
    pseudo_labels=dict(kind='pseudo_labels', model='cam'),
    segmentor=dict(kind='train', config='configs/pmm/pspnet_r18tiny_synthetic-pmm-pseudo.py',
                   inputs=dict(pseudo_label_dir='pseudo_labels.ppmg')),
    test_crf=dict(kind='test', model='segmentor', args=dict(tta=True),
                  cfg_options=dict(test_crf=True)),
)
report = dict(panels=dict(images=2, cam='pseudo_labels', crf='pseudo_labels.ppmg',
                          prediction='segmentor'))
