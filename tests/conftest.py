import os
import os.path as osp

if os.environ.get('PYTEST_XDIST_WORKER'):
    # a pytest-xdist worker (``make test`` runs 2 on 2 cores): one thread for this process and
    # every tool it launches, set before torch is imported (2 threaded workers oversubscribe)
    for _var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[_var] = '1'

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mmseg_hfpl  # noqa: E402,F401  registers the plugin
from mmseg_hfpl.datasets import make_synthetic_voc  # noqa: E402

init_default_scope('mmseg')  # build configs as a Runner would

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small copy of the embedded dataset (VOC layout), made once per test session."""
    root = str(tmp_path_factory.mktemp('synthetic_voc'))
    make_synthetic_voc(root, num_train=16, num_val=4, height=64, width=64, seed=0)
    return root


@pytest.fixture(scope='session')
def tiny_checkpoint(synthetic_root, tmp_path_factory):
    """A CAM model trained for 4 iterations on the small synthetic set (tests/data/tiny_cam.py)."""
    import subprocess
    import sys
    work = tmp_path_factory.mktemp('tiny_train')
    opts = [f'{k}.dataset.data_root={synthetic_root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    res = subprocess.run([sys.executable, 'tools/train.py', 'tests/data/tiny_cam.py', '--work-dir',
                          str(work), '--cfg-options', *opts], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return str(work / 'iter_4.pth')


@pytest.fixture(scope='session')
def tiny_voc(tmp_path_factory):
    """Two 80x60 images in the VOC 2012 + SBD layout with PSA's cls_labels.npy (the full-size
    VOC configs train an iteration on it)."""
    root = tmp_path_factory.mktemp('VOC2012')
    for d in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug', 'ImageSets/Segmentation'):
        (root / d).mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = {}
    for name, cls in (('2007_000001', 15), ('2008_000002', 7)):
        img = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
        mask = np.zeros((60, 80), np.uint8)
        mask[10:40, 20:60] = cls
        cv2.imwrite(str(root / 'JPEGImages' / f'{name}.jpg'), img)
        for d in ('SegmentationClass', 'SegmentationClassAug'):
            cv2.imwrite(str(root / d / f'{name}.png'), mask)
        vec = np.zeros(20, np.float32)
        vec[cls - 1] = 1
        labels[name] = vec
    (root / 'ImageSets/Segmentation/train.txt').write_text('2007_000001\n')
    (root / 'ImageSets/Segmentation/aug.txt').write_text('2008_000002\n')
    np.save(root / 'cls_labels.npy', labels)
    return str(root)


# The modules that take longest (summed over their tests; 15 s and more in a run of the whole
# suite), slowest first: under pytest-xdist they are scheduled first and in this order, so that
# the modules left for the end are short and no worker is left alone with a long one.
SLOW_FIRST = ('tests/test_pipeline/test_twin_pipelines.py',
              'tests/test_pipeline/test_run_pipeline.py',
              'tests/test_tools/test_run_experiments.py',
              'tests/test_docs.py',
              'tests/test_pipeline/test_readme_pipeline.py',
              'tests/test_tools/test_distributed_configs.py',
              'tests/test_tools/test_spatial_bce_configs.py',
              'tests/test_readme.py',
              'tests/test_engine/test_tools.py',
              'tests/test_engine/test_checked_loading.py',
              'tests/test_pseudo_labels/test_affinity.py',
              'tests/test_tools/test_seam_configs.py',
              'tests/test_tools/test_mctformer_configs.py',
              'tests/test_tools/test_sipe_configs.py',
              'tests/test_pseudo_labels/test_stage3.py',
              'tests/test_pseudo_labels/test_output_guard.py',
              'tests/test_engine/test_non_finite_loss_hook.py',
              'tests/test_pipeline/test_pipeline_configs.py',
              'tests/test_pseudo_labels/test_tool_and_hook.py',
              'tests/test_configs.py',
              'tests/test_tools/test_pmm_configs.py')


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test``: ``-n 2 --dist loadscope --no-loadscope-reorder``, one
    thread per worker) each module runs on one worker, so a module-scoped fixture is built once
    (xdist's ``loadgroup`` does not group under pytest 9.2: it renames node ids, which pytest
    9.2 no longer allows); the slowest modules are sent first, in the order above."""
    if not hasattr(config, 'workerinput'):  # not an xdist worker: the collection order
        return

    def rank(item):
        return next((i for i, prefix in enumerate(SLOW_FIRST)
                     if item.nodeid.startswith(prefix)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the collection order within each rank
