# SEAM-EfficientNet on MSRC + the multinomial (ICASSP) add-on, as the paper's Table 4: ISL on the
# softmax over fc8's background and class channels (eq. 5) at lambda 0.6, FSL gated by that
# softmax; CRF alphas 2 / 4.
_base_ = '../../seam/seam_effnet_msrc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.6, num_samples=10, posterior='multinomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='softmax', with_background=False))))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
