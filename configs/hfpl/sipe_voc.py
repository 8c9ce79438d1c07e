# SIPE + the hfpl add-on on VOC (the paper's sec. 5.1): ISL and FSL scaled down by 0.1 against
# SEAM's setting because SIPE trains at a 10x higher learning rate. Read as eq. 16 with
# lambda = 0.1 x 0.2 = 0.02 (binomial ISL, 10 samples per class, eq. 18; the GAP loss keeps
# 1 - lambda) and FSL (eqs. 9-13, mu 2.5, sigma 5) at weight 0.1 on the CAM up-sampled x2
# (32x32 -> 64x64 at a 512 crop), gated by the normalised CAM with its background 1 - max.
# The gating is the official hfpl one (train_cam_voc.py:163, visualization.max_norm: min-max
# per class), as in every add-on config: arvijj/hfpl publishes no SIPE variant, so its FSL code
# is the add-on's only official form (SIPE's own norm_cam is ReLU / max, without the minimum).
#   python tools/train.py configs/hfpl/sipe_voc.py
_base_ = '../sipe/sipe_r50_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.02, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.1, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True,
             upsample_factor=2))))
