# PMM stage A + the hfpl add-on (the paper, Sec. 5.1: "ISL only during multi-scale training, and
# FSL during both multi-scale and multi-crop training"): as configs/hfpl/seam_voc.py, ISL on the
# full-scale branch's raw fc8 logits mixed with its GAP loss by lambda = 0.2 (eq. 16; binomial,
# 10 samples per class, eq. 18) and FSL (eqs. 9-13, max-norm gating with the background
# channel, eq. 4) with weight 1, mu 2.5, sigma 5. (Stage B, the multi-crop ScaleNet training
# that would also carry FSL, is not built.)
#   python tools/train.py configs/hfpl/pmm_voc.py
_base_ = '../pmm/pmm-a_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True))))
