import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope

import mmseg_hfpl  # noqa: F401  registers the plugin
from mmseg_hfpl.datasets import make_synthetic_voc

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
