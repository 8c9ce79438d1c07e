# Spatial-BCE + the hfpl add-on on VOC (the paper's Tables 1-2): ISL (binomial posterior, 10
# samples per class, eqs. 14-18) and FSL (eqs. 9-13, mu 2.5, sigma 5, on the min-max normalised
# logits with the background channel 1 - max, eq. 4 gating r, as the official SEAM add-on) act
# on Spatial-BCE's temperature-scaled score maps (the logits its spatial BCE and KL train).
# Reading of eq. 16 (hfpl Sec. 4.2; SpatialBCEHead docstring): Spatial-BCE has no GAP term, its
# classification loss is the network iterations' spatial BCE, so there the loss is
# (1 - 0.2) * spatial BCE + 0.2 * ISL + FSL + KL (lambda = 0.2, the binomial optimum of Sec.
# 5.5; add_on.isl.lam); in the threshold iterations (20 of every 100) the objective stays
# the official threshold loss + KL, the add-on off (logged as 0). FSL weight 1 as SEAM's on VOC;
# the paper gives no Spatial-BCE-specific weights. The CAM at 369 is 47x47, close to SEAM's
# 56x56: no up-sampling for FSL. Semantic threshold 0.40 with FSL (0.30 with ISL only, hfpl
# Sec. 5.1), fixed: no threshold search (the searched 0.20-0.38 of the baseline would not reach
# 0.40); IRN thresholds fg 0.60 / bg 0.25 as the baseline.
# Phases: as configs/spatial_bce/spatial-bce_r38_voc.py.
#   python tools/train.py configs/hfpl/spatial_bce_voc.py
_base_ = '../spatial_bce/spatial-bce_r38_voc.py'
model = dict(
    decode_head=dict(add_on=dict(
        isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
        fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))),
    test_cfg=dict(bg_threshold=0.40))
pseudo_label_cfg = dict(bg_threshold=0.40, bg_search=None)
