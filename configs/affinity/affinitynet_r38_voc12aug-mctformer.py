# AffinityNet of MCTformer (its run_psa.sh: psa/train_aff.py --weights res38_cls.pth, the
# script's defaults; xulianuwa/MCTformer at 9606597): the ResNet-38 AffinityNet of
# affinitynet_r38_voc12aug.py (crop 448 + flip + ColorJitter, batch 8, lr 0.01 (x10 for the new
# layers), weight decay 5e-4, poly 0.9, momentum 5e-4 as psa's PolyOptimizer passes it) with two
# differences: 5 epochs (--max_epoches 5: 10582 // 8 x 5 = 6610 iterations; SEAM: 8) and the
# initial weights: psa's ResNet-38 *classifier trained on VOC* (res38_cls.pth, the "pre-trained
# classification weights" of MCTformer's README, psa's "ResNet-38 CAM weights",
# https://drive.google.com/file/d/1xESB7017zlZHqxEWuh1Rb89UhjTGIKOA), not the ImageNet weights.
# Its keys are psa's network/resnet38_cls.Net's: those of the ResNet38d backbone plus the
# classifier fc8.weight, which the backbone does not load, so the file is used as downloaded:
#   mkdir -p pretrain && mv res38_cls.pth pretrain/
# (another path: --cfg-options model.backbone.init_cfg.checkpoint=PATH; a missing file stops the
# training naming the path). Labels: the CRF marginals at alphas 1 and 12 (MCTformer's
# --la_crf_dir .._1 / --ha_crf_dir .._12) that make_pseudo_labels.py writes for the MCTformer config
# (pseudo_label_cfg: crf_alphas (1, 12), affinity_labels):
#   python tools/make_pseudo_labels.py configs/mctformer/mctformer-v2_deit-s_voc.py CKPT --out DIR
#   python tools/train.py THIS --cfg-options pseudo_label_dir=DIR/aff_crf
# Random walk as MCTformer's psa/infer_aff.py (beta 8, logt 6, the 0.39 background channel):
#   python tools/refine_pseudo_labels.py THIS AFF_CKPT --cams DIR/cams --out DIR/aff \
#       --beta 8 --logt 6 --bg-seed 0.39
_base_ = './affinitynet_r38_voc12aug.py'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/res38_cls.pth')))
_iters = 10582 // 8 * 5  # psa/train_aff.py: max_step = len(train_aug) // batch * max_epoches
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=_iters,
                        by_epoch=False)]
train_cfg = dict(max_iters=_iters)
default_hooks = dict(checkpoint=dict(interval=_iters))
