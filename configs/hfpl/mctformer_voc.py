# MCTformer-V2 + the hfpl add-on on VOC (paper Sec. 5.1): ISL (binomial, 10 samples per class,
# eqs. 14-18) and FSL (eqs. 9-13; mu 2.5, sigma 5, gating r of eq. 4 in the official min-max
# form with the background channel 1 - max) on the 14x14 patch CAM logits, both scaled by 0.1
# against SEAM's setting ("since MCTformer uses AdamW"): ISL mixed with the patch GAP loss by
# lambda = 0.1 x 0.2 = 0.02 (eq. 16), FSL at weight 0.1 on the CAM up-sampled x4 to 56x56,
# computed in fp32 outside autocast. The class-token loss is unchanged.
#   python tools/train.py configs/hfpl/mctformer_voc.py
_base_ = '../mctformer/mctformer-v2_deit-s_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.02, num_samples=10, posterior='binomial'),
    fsl=dict(weight=0.1, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True,
             upsample_factor=4))))
