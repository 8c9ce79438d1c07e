import json
import os
import shutil

import numpy as np
import pytest
import torch
from mmseg.registry import DATASETS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.datasets import SYNTHETIC_CLASSES

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]


def _cfg(root, **kwargs):
    cfg = dict(
        type='WSSSVOCDataset',
        data_root=root,
        metainfo=dict(classes=SYNTHETIC_CLASSES),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        cls_label_file='cls_labels.json',
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return cfg


def test_labels_are_packed_in_data_samples(synthetic_root):
    ds = DATASETS.build(_cfg(synthetic_root))
    assert len(ds) == 16
    labels = json.load(open(os.path.join(synthetic_root, 'cls_labels.json')))['labels']
    item = ds[0]
    sample = item['data_samples']
    expected = torch.zeros(5)
    expected[torch.tensor(labels['train_0000']) - 1] = 1
    assert torch.equal(sample.gt_img_label, expected)
    assert sample.gt_sem_seg.data.shape == (1, 64, 64)
    assert ds.metainfo['palette'][:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]  # VOC colours


def test_labels_from_masks_equal_label_file(synthetic_root):
    a = DATASETS.build(_cfg(synthetic_root))
    b = DATASETS.build(_cfg(synthetic_root, cls_label_file=None, labels_from_masks=True))
    for i in range(len(a)):
        assert np.array_equal(a.get_data_info(i)['img_label'], b.get_data_info(i)['img_label'])


def test_indices_select_images_before_their_files_are_checked(synthetic_root, tmp_path):
    """``indices`` (mmengine's subset; configs/_base_/datasets/msrc_split.py) picks the images
    of the split file before their masks are looked for: pseudo-labels made for one subset
    train with the split file that lists both; the other subset's missing masks are no error,
    a missing mask of a picked image still is."""
    root = tmp_path / 'voc'
    shutil.copytree(synthetic_root, root)
    full = DATASETS.build(_cfg(str(root)))
    picked = [i for i in range(16) if i % 4 != 3]
    for i in range(16):
        if i not in picked:
            os.remove(root / 'SegmentationClass' / f'train_{i:04d}.png')
    with pytest.raises(FileNotFoundError, match='train_0003.png'):
        DATASETS.build(_cfg(str(root)))
    sub = DATASETS.build(_cfg(str(root), indices=picked))
    assert len(sub) == 12
    for j, i in enumerate(picked):
        assert sub.get_data_info(j)['img_path'] == full.get_data_info(i)['img_path']
        assert sub.get_data_info(j)['seg_map_path'] == full.get_data_info(i)['seg_map_path']
    assert np.array_equal(sub[5]['data_samples'].gt_sem_seg.data,
                          full[picked[5]]['data_samples'].gt_sem_seg.data)
    first = DATASETS.build(_cfg(str(root), indices=3))  # an int: the first images
    assert [first.get_data_info(j)['img_path'] for j in range(len(first))] == \
        [full.get_data_info(i)['img_path'] for i in range(3)]
    os.remove(root / 'SegmentationClass' / 'train_0005.png')
    with pytest.raises(FileNotFoundError, match='train_0005.png'):
        DATASETS.build(_cfg(str(root), indices=picked))
    with pytest.raises(IndexError, match=r'indices \[16\].*16 images.*train.txt'):
        DATASETS.build(_cfg(synthetic_root, indices=[0, 16]))


def test_npy_multi_hot_labels(synthetic_root, tmp_path):
    root = tmp_path / 'voc'
    shutil.copytree(synthetic_root, root)
    labels = json.load(open(root / 'cls_labels.json'))['labels']
    vecs = {}
    for name, idx in labels.items():
        v = np.zeros(5, np.float32)
        v[np.array(idx) - 1] = 1
        vecs[name] = v
    np.save(root / 'cls_labels.npy', vecs)
    ds = DATASETS.build(_cfg(str(root), cls_label_file='cls_labels.npy'))
    assert np.array_equal(ds.get_data_info(3)['img_label'], vecs['train_0003'])
    vecs['train_0001'] = np.zeros(20, np.float32)
    np.save(root / 'cls_labels.npy', vecs)
    with pytest.raises(ValueError, match=r"train_0001.*length 20, expected 5"):
        DATASETS.build(_cfg(str(root), cls_label_file='cls_labels.npy'))


def test_clear_errors_name_the_culprit(synthetic_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='does-not-exist'):
        DATASETS.build(_cfg(str(tmp_path / 'does-not-exist')))
    with pytest.raises(FileNotFoundError, match='nosplit.txt'):
        DATASETS.build(_cfg(synthetic_root, ann_file='ImageSets/Segmentation/nosplit.txt'))
    root = tmp_path / 'broken'
    shutil.copytree(synthetic_root, root)
    os.remove(root / 'SegmentationClass' / 'train_0002.png')
    with pytest.raises(FileNotFoundError, match='train_0002.png'):
        DATASETS.build(_cfg(str(root)))
    shutil.copy(os.path.join(synthetic_root, 'SegmentationClass', 'train_0002.png'),
                root / 'SegmentationClass')
    meta = json.load(open(root / 'cls_labels.json'))
    del meta['labels']['train_0005']
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    with pytest.raises(KeyError, match='train_0005'):
        DATASETS.build(_cfg(str(root)))
    meta['labels']['train_0005'] = [9]
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    with pytest.raises(ValueError, match=r"train_0005.*class index 9"):
        DATASETS.build(_cfg(str(root)))
    meta['labels']['train_0005'] = [1]
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    (root / 'JPEGImages' / 'train_0007.jpg').write_bytes(b'not a jpeg at all')
    # an image with a mask is opened (its header) when the dataset is built
    with pytest.raises(ValueError, match=r"image '.*train_0007.jpg' cannot be read"):
        DATASETS.build(_cfg(str(root)))
    ds = DATASETS.build(_cfg(str(root), data_prefix=dict(img_path='JPEGImages')))
    with pytest.raises(RuntimeError, match='train_0007.jpg'):  # without masks: when loaded
        ds[7]
    with pytest.raises(ValueError, match='exactly one source'):
        DATASETS.build(_cfg(synthetic_root, cls_label_file=None))
