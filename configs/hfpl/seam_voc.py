# SEAM + the hfpl add-on on VOC (the paper's Table 1): ISL on the full-scale branch's raw fc8
# logits mixed with its GAP loss by lambda = 0.2 (eq. 16; binomial posterior, 10 samples per
# class, eq. 18), FSL (eqs. 9-13) on the min-max normalised fc8 logits with the background
# channel 1 - max (eq. 4 gating r), weight 1, mu 2.5, sigma 5; CRF alphas 1 / 24 for the
# AffinityNet labels.
#   python tools/train.py configs/hfpl/seam_voc.py
_base_ = '../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
pseudo_label_cfg = dict(crf_alphas=(1, 24))
