# Table 4, FSL row, multinomial (ICASSP): FSL gated by the softmax over fc8's background and
# class channels (eq. 5), no ISL; CRF alphas 2 / 4.
_base_ = '../seam_voc.py'
model = dict(
    decode_head=dict(
        loss_isl=None,
        loss_fsl=dict(gating='softmax', with_background=False, subtract_min=False)))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
