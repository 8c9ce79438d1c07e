# SEAM-EfficientNet on MSRC + ISL only: eq. 16 with lambda 0.2 inside the full-scale branch's
# GAP term (binomial posterior eq. 14, 10 samples per class eq. 18), as configs/hfpl/seam_voc.py.
_base_ = '../../seam/seam_effnet_msrc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
