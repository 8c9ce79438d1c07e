# PMM stage A ("multi-scale training", Li et al., ICCV 2021; Eli-YiLi/PMM run.py +
# pipeline/train_cam.py): SEAM's ResNet-38 network and losses trained with PMM's recipe on VOC
# train_aug: batch 24 (SEAM: 8) and lr 0.02 (SEAM: 0.01), the same 8 epochs, 448 crops,
# RandomResizeLong(448, 768), flip, ColorJitter, param groups x1/x2/x10/x20 and poly 0.9
# (momentum = the weight decay, see the schedule).
#   python tools/train.py configs/pmm/pmm-a_r38_voc.py
# Not reproduced: PMM leaves fc8 at PyTorch's default init (SEAMHead: Xavier), starts from a
# checkpoint named models/resnet38_SEAM.pth (here: the ImageNet ResNet-38) and skips NaN steps.
# Pseudo-masks: cam_rv at scales 0.5-2 + flip, CRF at alpha 24 (PMM's masks for stage B) and
# PPMG (CVS + per-class CRF, alpha 11) in DIR/ppmg:
#   python tools/make_pseudo_labels.py configs/pmm/pmm-a_r38_voc.py CKPT --out DIR
_base_ = '../seam/seam_r38_voc.py'
total_batch_size = 24  # over all processes (tools/train.py: 24 // world_size per process)
train_dataloader = dict(batch_size=total_batch_size)
optim_wrapper = dict(optimizer=dict(lr=0.02))
pseudo_label_cfg = dict(crf_alphas=(24, ), affinity_labels=False, ppmg=dict(alpha=11))
