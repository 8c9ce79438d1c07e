# Table 4, ISL row, multinomial (ICASSP): softmax posterior over fc8's 21 channels (eq. 5) with
# its best lambda 0.6, no FSL; CRF alphas 2 / 4 as the paper uses for the multinomial model.
_base_ = '../seam_voc.py'
model = dict(
    decode_head=dict(
        loss_isl=dict(posterior='multinomial', loss_weight=0.6), loss_fsl=None))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
