import glob
import os
import subprocess
import sys

import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS, MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MSRC = os.path.join(ROOT, '..', 'shared', 'data', 'msrc_voc')
CONFIGS = sorted(
    glob.glob(os.path.join(ROOT, 'configs', '*', '*.py')) +
    glob.glob(os.path.join(ROOT, 'configs', '*', '**', '*.py'), recursive=True))
CONFIGS = sorted({c for c in CONFIGS if '_base_' not in c and '/studies/' not in c
                  and '/pipelines/' not in c})  # (tests/test_pipeline/ builds those)
STUDIES = sorted(glob.glob(os.path.join(ROOT, 'configs', 'studies', '*.py')))


def test_import_registers_everything_in_a_fresh_interpreter():
    code = ('import mmseg_hfpl\n'
            'from mmseg.registry import MODELS, DATASETS, TRANSFORMS, METRICS, HOOKS\n'
            'from mmengine.registry import PARAM_SCHEDULERS\n'  # found from mmseg's scope too

            "names = {MODELS: ['CAMHead', 'CAMSegmentor', 'ImportanceSamplingLoss', "
            "'FeatureSimilarityLoss', 'GAPMultiLabelLoss', 'ResNet38d', 'SEAMHead', "
            "'SEAMSegmentor', 'EquivariantRegularizationLoss', "
            "'EquivariantCrossRegularizationLoss', 'AdaptiveMinPoolingLoss', 'SIPEHead', "
            "'SIPESegmentor', 'GeneralSpecificConsistencyLoss', 'MCTViT', 'MCTformerHead', "
            "'MCTformerSegmentor', 'SpatialBCEHead', 'SpatialBCESegmentor', 'SpatialBCELoss', "
            "'ForegroundRatioKLLoss', 'PretendedUnderFittingLoss', 'LargeFOVHead', "
            "'AffinityNet', 'InterPixelRelationNet', 'EfficientNetLite0', "
            "'DenseCRFPostProcessor', 'MeanSegTTAModel'], PARAM_SCHEDULERS: ['TimmCosineLR'], "
            "DATASETS: ['WSSSVOCDataset'], TRANSFORMS: ['PackWSSSInputs', 'RandomResizeLong', "
            "'RandomRescale', 'RandomContainerCrop', 'RandomHSV', 'AffinityLabelsFromCRF'], "
            " METRICS: ['BoundaryFMetric'], "
            "HOOKS: ['CAMVisualizationHook', 'PseudoLabelHook']}\n"
            'missing = [n for r, ns in names.items() for n in ns if n not in r.module_dict]\n'
            'print(missing)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == '[]'  # onedl-mmseg may print a line first


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(c, ROOT) for c in CONFIGS])
def test_method_configs_build_their_model(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports['imports'][0] == 'mmseg_hfpl'
    model = MODELS.build(cfg.model)
    dataset = cfg.train_dataloader.dataset
    if cfg.model.type in ('CAMSegmentor', 'SEAMSegmentor') and 'metainfo' in dataset:
        classes = dataset.metainfo['classes']
        assert model.decode_head.num_fg == len(classes) - 1
    assert 'BoundaryFMetric' in [m['type'] for m in cfg.test_evaluator]


@pytest.mark.parametrize('path', STUDIES, ids=[os.path.basename(p) for p in STUDIES])
def test_study_files_name_existing_configs(path):
    study = Config.fromfile(path)
    names = [e['name'] for e in study.experiments]
    assert len(names) == len(set(names)) and len(study.seeds) >= 2
    for exp in study.experiments:
        path = exp.get('config') or exp['pipeline']  # a config, or a pipeline config
        assert os.path.isfile(os.path.join(ROOT, path)), path


@pytest.mark.parametrize('name', ['voc12_aug', 'coco2014', 'voc_layout_template', 'synthetic_voc'])
def test_dataset_configs_parse(name):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', '_base_', 'datasets', name + '.py'))
    assert cfg.val_evaluator[1]['type'] == 'BoundaryFMetric'
    assert cfg.train_dataloader.dataset.type in ('WSSSVOCDataset', 'WSSSCOCODataset',
                                               'ConcatDataset')


@pytest.mark.skipif(not os.path.isdir(MSRC), reason='MSRC-v2 copy not available')
def test_template_loads_the_real_msrc_copy():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', '_base_', 'datasets',
                                       'voc_layout_template.py'))
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.data_root = MSRC
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 320
    sample = ds[0]['data_samples']
    assert sample.gt_img_label.shape == (15, )
    present = set(sample.gt_sem_seg.data.unique().tolist()) - {0, 255}
    assert present == {i + 1 for i in sample.gt_img_label.nonzero().flatten().tolist()}


@pytest.mark.skipif(not os.path.isdir(MSRC), reason='MSRC-v2 copy not available')
def test_msrc_pipeline_split_is_class_stratified():
    """The MSRC pipelines' split (configs/_base_/datasets/msrc_split.py), read through the
    stage-3 config's loaders: 320 / 80 disjoint images covering trainval, every photo row and
    every class on both sides; the copy's own split holds out whole rows (its val's bicycles:
    17 images, 1 in train)."""
    import json
    from collections import Counter
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'stage3',
                                       'deeplabv3plus_effnet_msrc-gt.py'))
    parts = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds_cfg = cfg[loader].dataset
        ds_cfg.data_root = MSRC
        ds_cfg.pipeline = []
        ds = DATASETS.build(ds_cfg)
        parts[loader] = [os.path.basename(ds.get_data_info(i)['img_path'])[:-4]
                         for i in range(len(ds))]
    train, val = parts['train_dataloader'], parts['val_dataloader']
    assert parts['test_dataloader'] == val
    assert (len(train), len(val)) == (320, 80) and not set(train) & set(val)
    with open(os.path.join(MSRC, 'ImageSets', 'Segmentation', 'trainval.txt')) as f:
        assert sorted(train + val) == sorted(f.read().split())
    with open(os.path.join(MSRC, 'cls_labels.json')) as f:
        labels = json.load(f)['labels']

    def classes(names):
        return Counter(c for n in names for c in labels[n])

    def rows(names):
        return Counter(n.split('_')[0] for n in names)

    assert set(rows(val)) == set(rows(train)) and len(rows(train)) == 20
    assert all(3 * rows(val)[r] <= rows(train)[r] <= 5 * rows(val)[r] for r in rows(train))
    assert set(classes(train)) == set(classes(val)) == set(range(1, 16))
    assert min(classes(val).values()) >= 2 and min(classes(train).values()) >= 10
    own = {}
    for split in ('train', 'val'):
        with open(os.path.join(MSRC, 'ImageSets', 'Segmentation', f'{split}.txt')) as f:
            own[split] = f.read().split()
    assert set(rows(own['val'])) & set(rows(own['train'])) == {'5'}
    bicycle = 6
    assert (classes(own['train'])[bicycle], classes(own['val'])[bicycle]) == (1, 17)
