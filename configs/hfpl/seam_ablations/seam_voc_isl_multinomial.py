# Table 4, ISL row, multinomial (ICASSP): softmax posterior over fc8's 21 channels (eq. 5) with
# its best lambda 0.6, no FSL; CRF alphas 2 / 4 as the paper uses for the multinomial model.
_base_ = '../../seam/seam_r38_voc.py'
model = dict(decode_head=dict(add_on=dict(
    isl=dict(lam=0.6, num_samples=10, posterior='multinomial'))))
pseudo_label_cfg = dict(crf_alphas=(2, 4))
