"""How the configs are put together: the depth of their ``_base_`` chains and the training sets
that their pipelines feed, read from the resolved configs.

Depth rule (the number of ``_base_`` levels above a config, an ``mmseg::`` base counting as one
level since its own chain is mmseg's):
- a method config (configs/<method>/*.py) has at most two levels: its dataset / model / schedule
  bases, and at most one method config in between (e.g. pmm-a_r38_voc.py -> seam_r38_voc.py);
- a config of the add-on (configs/hfpl/**) adds exactly one level on top of its baseline: its
  single base is a method config outside configs/hfpl.
mmengine replaces lists when it merges a config into its base, so a pipeline stated in a config
reaches its training sets only if the config rebuilds them (configs/_base_/datasets/voc12_aug.py
``train_aug``); the last tests check that every training set uses the pipeline its config states.
"""
import ast
import glob
import os

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, 'configs')
# every config that is trained or tested (not the bases, not the study or pipeline lists)
LEAVES = sorted(
    os.path.relpath(p, CONFIGS) for p in glob.glob(os.path.join(CONFIGS, '**', '*.py'),
                                                   recursive=True)
    if not os.path.relpath(p, CONFIGS).startswith(('_base_', 'studies', 'pipelines')))
HFPL = [c for c in LEAVES if c.startswith('hfpl/')]
METHODS = [c for c in LEAVES if not c.startswith('hfpl/')]
METHOD_MAX_DEPTH = 2
# Chains deeper than the rule, at the depth they have today: AffinityNet's ResNet-38 config
# inherits the ResNet-50 one (affinitynet_r38_voc12aug.py -> affinitynet_r50-d8_voc12aug.py), so
# MCTformer's variant of it and the COCO one sit at three levels. Flattening it means restating
# the AffinityNet model (the r38 config as the root, the r50 one as its variant).
DEEPER = {'affinity/affinitynet_r38_voc12aug-mctformer.py': 3,
          'affinity/affinitynet_r38_coco.py': 3}


def bases(config):
    """The ``_base_`` entries of a config (relative to configs/), read from its source."""
    path = os.path.join(CONFIGS, config)
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == '_base_'):
            value = ast.literal_eval(node.value)
            entries = [value] if isinstance(value, str) else list(value)
            return [
                b if b.startswith('mmseg::') else os.path.relpath(
                    os.path.normpath(os.path.join(os.path.dirname(path), b)), CONFIGS)
                for b in entries
            ]
    return []


def depth(config):
    """Levels of ``_base_`` above a config: 0 without bases, else 1 + its deepest base."""
    return max((1 if b.startswith('mmseg::') else 1 + depth(b) for b in bases(config)),
               default=0)


def test_depth_of_known_configs():
    assert depth('_base_/datasets/voc12_aug.py') == 0
    assert depth('_base_/datasets/synthetic_voc_pseudo.py') == 1
    assert depth('seam/seam_r38_voc.py') == 1
    assert depth('pmm/pmm-a_r38_voc.py') == 2  # -> seam_r38_voc.py -> its bases
    assert depth('stage3/deeplabv3_r101-d8_voc12aug-pseudo.py') == 1  # one mmseg:: base
    assert depth('stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py') == 2


@pytest.mark.parametrize('config', METHODS)
def test_method_configs_have_at_most_two_levels_of_bases(config):
    for base in bases(config):
        assert base.startswith('mmseg::') or os.path.isfile(os.path.join(CONFIGS, base)), base
    assert depth(config) <= METHOD_MAX_DEPTH or depth(config) == DEEPER.get(config), config


def test_the_deeper_chains_are_the_known_ones():
    assert {c: depth(c) for c in METHODS if depth(c) > METHOD_MAX_DEPTH} == DEEPER


@pytest.mark.parametrize('config', HFPL)
def test_addon_configs_add_one_level_on_their_baseline(config):
    (baseline, ) = bases(config)
    assert not baseline.startswith(('hfpl/', 'mmseg::', '_base_/')), baseline
    assert baseline in METHODS
    assert depth(config) == depth(baseline) + 1 <= METHOD_MAX_DEPTH + 1


def without_scope(x):
    """A config value without the ``_scope_`` keys mmengine adds to values of mmseg:: bases."""
    if isinstance(x, dict):
        return {k: without_scope(v) for k, v in x.items() if k != '_scope_'}
    if isinstance(x, (list, tuple)):
        return [without_scope(v) for v in x]
    return x


def train_sets(cfg):
    dataset = cfg.train_dataloader.dataset
    return list(dataset.datasets) if dataset.type == 'ConcatDataset' else [dataset]


# the configs that train on VOC 2012 train_aug (train.txt + aug.txt): the CAM stage with its
# image-level labels, or the later stages with pseudo-labels (`pseudo_label_dir`) as the masks
VOC_CAM = ['mctformer/mctformer-v2_deit-s_voc.py', 'pmm/pmm-a_r38_voc.py',
           'seam/seam_r38_voc.py', 'seam/seam_r38_voc_official-alpha.py', 'sipe/sipe_r50_voc.py',
           'spatial_bce/spatial-bce_r38_voc.py']
VOC_PSEUDO = ['affinity/affinitynet_r38_voc12aug-mctformer.py',
              'affinity/affinitynet_r38_voc12aug.py', 'affinity/affinitynet_r50-d8_voc12aug.py',
              'irn/irn_r50_voc12aug.py', 'pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py',
              'stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py',
              'stage3/deeplabv3_r101-d8_voc12aug-pseudo.py',
              'stage3/deeplabv3plus_r101-d8_voc12aug-pseudo.py']


def test_the_voc_train_aug_configs_are_the_listed_ones():
    concat = [c for c in METHODS
              if Config.fromfile(os.path.join(CONFIGS, c)).train_dataloader.dataset.type ==
              'ConcatDataset']
    assert concat == sorted(VOC_CAM + VOC_PSEUDO)


@pytest.mark.parametrize('config', VOC_CAM + VOC_PSEUDO + [c for c in HFPL if '_voc' in c])
def test_voc_train_split_is_train_plus_aug_with_the_config_pipeline(config):
    cfg = Config.fromfile(os.path.join(CONFIGS, config))
    train, aug = train_sets(cfg)
    assert (train.ann_file, aug.ann_file) == ('ImageSets/Segmentation/train.txt',
                                              'ImageSets/Segmentation/aug.txt')
    for split in (train, aug):
        assert split.type == 'WSSSVOCDataset'
        assert split.data_root == 'data/VOCdevkit/VOC2012'
        assert split.cls_label_file == 'cls_labels.npy'
        assert split.data_prefix.img_path == 'JPEGImages'
        assert without_scope(split.pipeline) == without_scope(cfg.train_pipeline)
    masks = (train.data_prefix.seg_map_path, aug.data_prefix.seg_map_path)
    if 'pseudo_label_dir' in cfg:
        assert masks == (cfg.pseudo_label_dir, ) * 2
    else:  # listed only to score the pseudo-labels: the CAM pipelines load no masks
        assert masks == ('SegmentationClass', 'SegmentationClassAug')
        assert 'LoadAnnotations' not in [t.type for t in cfg.train_pipeline]


def test_voc_configs_keep_their_own_pipelines():
    first = {c: Config.fromfile(os.path.join(CONFIGS, c)).train_pipeline[1]
             for c in ('seam/seam_r38_voc.py', 'sipe/sipe_r50_voc.py',
                       'mctformer/mctformer-v2_deit-s_voc.py',
                       'spatial_bce/spatial-bce_r38_voc.py')}
    assert first['seam/seam_r38_voc.py'] == dict(type='RandomResizeLong', min_size=448,
                                                 max_size=768)
    assert first['sipe/sipe_r50_voc.py'] == dict(type='RandomResizeLong', min_size=320,
                                                 max_size=640)
    assert first['mctformer/mctformer-v2_deit-s_voc.py'].type == 'mmpretrain.RandomResizedCrop'
    assert first['spatial_bce/spatial-bce_r38_voc.py'] == dict(type='Resize', scale=(369, 369),
                                                               keep_ratio=False)


@pytest.mark.parametrize('config', LEAVES)
def test_every_training_set_uses_the_stated_pipeline(config):
    cfg = Config.fromfile(os.path.join(CONFIGS, config))
    for split in train_sets(cfg):
        assert without_scope(split.pipeline) == without_scope(cfg.train_pipeline), config
    if cfg.get('test_dataloader') is not None:
        assert (without_scope(cfg.test_dataloader.dataset.pipeline) ==
                without_scope(cfg.test_pipeline)), config


def test_timm_policies_are_shared_by_mctformer_and_spatial_bce():
    mct = Config.fromfile(os.path.join(CONFIGS, 'mctformer/mctformer-v2_deit-s_voc.py'))
    sbce = Config.fromfile(os.path.join(CONFIGS, 'spatial_bce/spatial-bce_r38_voc.py'))
    (mct_ra, ) = [t for t in mct.train_pipeline if t.type == 'mmpretrain.RandAugment']
    (sbce_ra, ) = [t for t in sbce.train_pipeline if t.type == 'mmpretrain.RandAugment']
    assert mct_ra.policies == sbce_ra.policies == mct.timm_increasing
    assert len(mct_ra.policies) == 15
    assert mct_ra.policies[3] == dict(type='mmpretrain.Rotate', magnitude_range=(0, 30))
    assert (mct_ra.magnitude_std, 'magnitude_std' in sbce_ra) == (0.5, False)


def test_synthetic_pseudo_label_pipeline_is_the_base_augmentation_with_masks():
    base = Config.fromfile(os.path.join(CONFIGS, '_base_/datasets/synthetic_voc.py'))
    pseudo = Config.fromfile(os.path.join(CONFIGS, '_base_/datasets/synthetic_voc_pseudo.py'))
    assert [t.type for t in pseudo.train_pipeline] == [
        'LoadImageFromFile', 'LoadAnnotations', 'RandomResize', 'RandomCrop', 'RandomFlip',
        'PackSegInputs']
    assert pseudo.train_pipeline[2:5] == base.train_pipeline[1:4]
    assert pseudo.train_dataloader.dataset.data_prefix.seg_map_path == pseudo.pseudo_label_dir
    # validation keeps the real masks
    assert pseudo.val_dataloader.dataset.data_prefix.seg_map_path == 'SegmentationClass'
