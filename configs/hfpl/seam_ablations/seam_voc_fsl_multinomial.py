# Table 4, FSL row, multinomial (ICASSP): FSL gated by the softmax over fc8's background and
# class channels (eq. 5), no ISL; CRF alphas 2 / 4.
_base_ = '../../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='softmax', with_background=False))))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
