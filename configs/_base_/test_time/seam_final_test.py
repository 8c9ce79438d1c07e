# The final-stage test of SEAM / hfpl (YudeWang/semantic-segmentation-codebase
# experiment/seamv1-pseudovoc/test.py; hfpl eval_final_voc.py) for configs whose other bases set
# no TTA (configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py states the same over mmseg's
# VOC base): with --tta, scales 0.5-1.75 + flip merged as the softmax of the mean logits; with
# --cfg-options test_crf=True, its dense CRF.
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
# official: cv2 INTER_CUBIC rescaling of each view (lib/datasets/transform.py:170-181; of the
# normalised float image, here of the uint8 one; sizes r * side = k + 0.5 rounded half up here,
# half to even there: 1 px) and the softmax of the views' mean logits (test.py:80-88)
tta_model = dict(type='MeanSegTTAModel', merge='logits')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale_factor=r, keep_ratio=True, interpolation='bicubic')
         for r in img_ratios],
        [dict(type='RandomFlip', prob=0., direction='horizontal'),
         dict(type='RandomFlip', prob=1., direction='horizontal')],
        [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]
    ])
]
# Dense CRF of the test (tools/test.py wraps the model in crf_model when test_crf=True; off by
# default, on in the official test: TEST_CRF=True): lib/utils/DenseCRF.py:dense_crf as called in
# test.py:91-95 (n_iters=1; Gaussian sxy 3, compat 3; bilateral sxy 32, srgb 13, compat 10;
# unary -log of the softmax) on the image as cv2.imread reads it (converted to RGB; official:
# img_denorm of the normalised image, which its uint8 cast can leave 1 grey level lower).
# crf_model.workers=N runs the CRFs of a test batch in N processes.
test_crf = False
crf_model = dict(
    type='DenseCRFPostProcessor',
    crf=dict(iterations=1, gaussian=(3, 3), bilateral=(32, 13, 10)),
    image_backend='cv2',
    workers=0)
