"""The COCO 2014 configs as hfpl's run_coco.sh runs them: CAMs scored on val2014, AffinityNet for
8 epochs of train2014 with its walk scored on train2014, DeepLab-v1 for 200,000 iterations of
batch 10 with 81 classes (coco/config_coco2014.py), all reading the converter's layout."""
import argparse
import os.path as osp
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from make_pseudo_labels import apply_config_defaults  # noqa: E402  tools/make_pseudo_labels.py

CAM = ['configs/seam/seam_r38_coco.py', 'configs/seam/seam_r38_coco_16ep.py',
       'configs/hfpl/seam_coco.py', 'configs/hfpl/seam_coco_16ep.py']
AFF = 'configs/affinity/affinitynet_r38_coco.py'
STAGE3 = 'configs/stage3/deeplabv1-largefov_r38_coco-pseudo.py'


def load(config):
    return Config.fromfile(osp.join(ROOT, config))


def coco_split(dataset, split, masks):
    assert dataset.type == 'WSSSCOCODataset' and dataset.data_root == 'data/coco2014_voc'
    assert dataset.ann_file == f'ImageSets/Segmentation/{split}.txt'
    assert dataset.data_prefix == dict(img_path='JPEGImages', seg_map_path=masks)
    assert dataset.cls_label_file == 'cls_labels.npy'


@pytest.mark.parametrize('config', CAM)
def test_cam_configs_label_train2014_and_score_val2014(config):
    cfg = load(config)
    coco_split(cfg.train_dataloader.dataset, 'train', 'SegmentationClass')
    coco_split(cfg.val_dataloader.dataset, 'val', 'SegmentationClass')
    assert cfg.model.decode_head.num_classes == 81
    # tools/make_pseudo_labels.py CONFIG CKPT --split train: the options it resolves
    args = argparse.Namespace(config=config, **{k: None for k in (
        'scales', 'no_flip', 'bg_threshold', 'bg_search', 'threshold', 'crf', 'label_crf',
        'affinity_labels', 'ir_labels', 'ppmg', 'cam_norm', 'score_split')})
    apply_config_defaults(args, cfg)
    assert args.score_split == 'val' and args.affinity_labels
    assert args.crf == ([1, 24] if 'hfpl' in config else [4, 24])


def test_affinitynet_coco_is_the_voc_recipe_for_8_epochs_of_train2014():
    cfg, voc = load(AFF), load('configs/affinity/affinitynet_r38_voc12aug.py')
    train = cfg.train_dataloader.dataset
    coco_split(train, 'train', cfg.pseudo_label_dir)
    assert train.seg_map_suffix == '.npz' and train.pipeline == voc.train_pipeline
    # the random walk is scored on the train2014 masks (run_coco.sh evaluates it there)
    assert cfg.pseudo_label_cfg.score_split == 'test'
    coco_split(cfg.test_dataloader.dataset, 'train', 'SegmentationClass')
    iters = 82783 // 8 * 8  # train_aff_coco.py: len(train2014) // batch * 8 epochs
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[0].end == iters == 82776
    assert cfg.total_batch_size == 8
    for key in ('model', 'optim_wrapper', 'train_pipeline'):
        assert cfg[key] == voc[key], key


def test_deeplabv1_coco_is_the_voc_stage3_with_81_classes_for_200k_iterations():
    cfg, voc = load(STAGE3), load('configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py')
    coco_split(cfg.train_dataloader.dataset, 'train', cfg.pseudo_label_dir)
    assert cfg.train_dataloader.dataset.pipeline == voc.train_pipeline
    coco_split(cfg.val_dataloader.dataset, 'val', 'SegmentationClass')
    assert cfg.test_dataloader == cfg.val_dataloader
    assert cfg.model.decode_head.num_classes == 81  # MODEL_NUM_CLASSES
    assert cfg.total_batch_size == 10  # TRAIN_BATCHES
    assert cfg.train_cfg.max_iters == cfg.param_scheduler[0].end == 200000  # TRAIN_ITERATION
    assert cfg.train_cfg.val_interval == 200000
    for key in ('optim_wrapper', 'tta_model', 'tta_pipeline', 'crf_model'):
        assert cfg[key] == voc[key], key
    voc.model.decode_head.num_classes = 81
    assert cfg.model == voc.model
