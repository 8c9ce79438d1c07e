# CPU-sized PMM stage A on the embedded dataset: the SEAM twin with PMM's differences, batch x3
# (8 -> 24) and lr x2 (0.05 -> 0.1) at the same number of epochs (1500 -> 500 iterations), and
# PMM's pseudo-masks (CRF alpha 24; PPMG from the saved CAMs with pseudo_labels/pmm.py).
#   python tools/train.py configs/pmm/pmm-a_r38tiny_synthetic.py
_base_ = '../seam/seam_r38tiny_synthetic.py'
train_dataloader = dict(batch_size=24)
optim_wrapper = dict(optimizer=dict(lr=0.1))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=500, by_epoch=False)]
train_cfg = dict(max_iters=500, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
pseudo_label_cfg = dict(crf_alphas=(24, ), affinity_labels=False, ppmg=dict(alpha=11))
