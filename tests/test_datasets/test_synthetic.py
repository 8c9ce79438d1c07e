import json
import os

import numpy as np
import pytest
from PIL import Image

from mmseg_hfpl.datasets import make_synthetic_voc


def test_layout_labels_and_masks_agree(synthetic_root):
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        assert os.path.isdir(os.path.join(synthetic_root, sub))
    names = open(os.path.join(synthetic_root, 'ImageSets/Segmentation/train.txt')).read().split()
    assert len(names) == 16
    meta = json.load(open(os.path.join(synthetic_root, 'cls_labels.json')))
    assert meta['classes'][0] == 'background' and len(meta['classes']) == 6
    multi = 0
    for name in names:
        png = Image.open(os.path.join(synthetic_root, 'SegmentationClass', name + '.png'))
        assert png.mode == 'P'  # palette PNG, as VOC
        mask = np.asarray(png)
        present = sorted(int(c) for c in np.unique(mask) if c not in (0, 255))
        assert present == meta['labels'][name] and present  # tags = classes in the mask
        multi += len(present) > 1
        img = np.asarray(Image.open(os.path.join(synthetic_root, 'JPEGImages', name + '.jpg')))
        assert img.shape == (64, 64, 3)
    assert multi > 0  # multi-label images exist


def test_deterministic_and_never_overwrites(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    make_synthetic_voc(str(a), num_train=3, num_val=1, height=32, width=32, seed=5)
    make_synthetic_voc(str(b), num_train=3, num_val=1, height=32, width=32, seed=5)
    for name in ('train_0000', 'train_0002', 'val_0000'):
        assert (np.asarray(Image.open(a / 'SegmentationClass' / f'{name}.png')) == np.asarray(
            Image.open(b / 'SegmentationClass' / f'{name}.png'))).all()
    # same parameters again: a no-op; other parameters: refused
    before = (a / 'JPEGImages' / 'train_0000.jpg').stat().st_mtime_ns
    make_synthetic_voc(str(a), num_train=3, num_val=1, height=32, width=32, seed=5)
    assert (a / 'JPEGImages' / 'train_0000.jpg').stat().st_mtime_ns == before
    with pytest.raises(FileExistsError, match='seed'):
        make_synthetic_voc(str(a), num_train=3, num_val=1, height=32, width=32, seed=6)
    other = tmp_path / 'mine'
    other.mkdir()
    (other / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not empty'):
        make_synthetic_voc(str(other), num_train=1, num_val=1)
    assert (other / 'notes.txt').read_text() == 'keep me'
