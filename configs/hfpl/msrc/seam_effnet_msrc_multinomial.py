# SEAM-EfficientNet on MSRC + the multinomial (ICASSP) add-on, as the paper's Table 4: ISL on the
# softmax over fc8's background and class channels (eq. 5) at lambda 0.6, FSL gated by that
# softmax; CRF alphas 2 / 4.
_base_ = './seam_effnet_msrc_isl_fsl.py'
model = dict(
    decode_head=dict(
        loss_isl=dict(posterior='multinomial', loss_weight=0.6),
        loss_fsl=dict(gating='softmax', with_background=False, subtract_min=False)))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
