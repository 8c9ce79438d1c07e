# AffinityNet of hfpl on COCO 2014 (run_coco.sh: train_aff_coco.py --max_epoches 8, whose recipe is
# train_aff_voc.py's): the ResNet-38 AffinityNet of affinitynet_r38_voc12aug.py (crop 448 + flip +
# ColorJitter, batch 8, lr 0.01 (x10 for the new layers), weight decay 5e-4, poly 0.9, SEAM's
# momentum quirk) on train2014 for 8 epochs: max_step = len(train2014) // 8 * 8 = 82,776
# iterations on hfpl's list of every image id (82,783 images; the 82,081 annotated images of
# --image-list annotated: 82,080, --cfg-options train_cfg.max_iters=82080
# param_scheduler.0.end=82080). Labels: the CRF marginals at alphas 1 and 24 (run_coco.sh
# --la_crf_dir alpha_1.0 --ha_crf_dir alpha_24.0) that make_pseudo_labels.py writes for the COCO
# add-on config, which also scores the CAMs on val2014:
#   python tools/make_pseudo_labels.py configs/hfpl/seam_coco.py CKPT --out DIR --split train
#   python tools/train.py THIS --cfg-options pseudo_label_dir=DIR/aff_crf
# Random walk on train2014 (beta 8, logt 6, background alpha 6: infer_aff_coco.py), scored on the
# train2014 masks (test_dataloader; run_coco.sh evaluates the walk there):
#   python tools/refine_pseudo_labels.py THIS AFF_CKPT --cams DIR/cams --out DIR/aff \
#       --beta 8 --logt 6 --bg-alpha 6
_base_ = './affinitynet_r38_voc12aug.py'
data_root = 'data/coco2014_voc'
pseudo_label_dir = 'work_dirs/pseudo_labels/coco2014/aff_crf'
_train2014 = dict(type='WSSSCOCODataset', data_root=data_root,
                  ann_file='ImageSets/Segmentation/train.txt', cls_label_file='cls_labels.npy')
train_dataloader = dict(dataset=dict(
    _delete_=True, **_train2014, seg_map_suffix='.npz', pipeline=_base_.train_pipeline,
    data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir)))
test_dataloader = dict(dataset=dict(
    _delete_=True, **_train2014, pipeline=_base_.test_pipeline,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass')))
_iters = 82783 // 8 * 8  # train_aff_coco.py: max_step = len(train_dataset) // batch * max_epoches
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=_iters,
                        by_epoch=False)]
train_cfg = dict(max_iters=_iters)
default_hooks = dict(checkpoint=dict(interval=_iters))
