# The SEAM baseline as hfpl's official scripts run it: infer_cam_voc.py:31 hard-codes the CRF
# alphas (1, 24) for every run, the baseline (--loss_weight 0 --no-fsl) included, where the
# paper (Sec. 5.1: "1 and 24 (originally 4 and 24) ... when using ISL") keeps SEAM's own (4, 24)
# (YudeWang/SEAM infer_SEAM.py:31) for the baseline: configs/seam/seam_r38_voc.py, the default.
# Training is that of the baseline; only the AffinityNet labels (hence the random walk and
# stage 3) change:
#   python tools/make_pseudo_labels.py configs/seam/seam_r38_voc_official-alpha.py CKPT --out DIR
_base_ = ['./seam_r38_voc.py']
pseudo_label_cfg = dict(crf_alphas=(1, 24))
