"""Broken dataset files are caught when they are read, naming the file (and the entry)."""
import hashlib
import json
import os
import re
import shutil
import warnings

import cv2
import numpy as np
import pytest
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_hfpl.datasets import (SYNTHETIC_CLASSES, DataFileError, read_image, read_mask,
                                 truncated_image_reason)
from mmseg_hfpl.datasets.synthetic import SYNTHETIC_PALETTE, _palette_png

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWSSSInputs'),
]
NUM_CLASSES = len(SYNTHETIC_CLASSES)


def _cfg(root, **kwargs):
    cfg = dict(
        type='WSSSVOCDataset',
        data_root=str(root),
        metainfo=dict(classes=SYNTHETIC_CLASSES),
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/train.txt',
        cls_label_file='cls_labels.json',
        pipeline=PIPELINE)
    cfg.update(kwargs)
    return cfg


@pytest.fixture
def root(synthetic_root, tmp_path):
    """A private copy of the small synthetic dataset that the test may break."""
    dst = tmp_path / 'voc'
    shutil.copytree(synthetic_root, dst)
    return dst


def _digest(root):
    """md5 of every file under ``root``: the checks must never change what is there."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.md5(open(p, 'rb').read()).hexdigest()
    return out


def _save_mask(path, mask):
    _palette_png(mask, SYNTHETIC_PALETTE).save(path)


def test_the_intact_dataset_passes_every_check(root):
    before = _digest(root)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # no warning either
        ds = DATASETS.build(_cfg(root))
        for i in range(len(ds)):
            assert ds[i]['data_samples'].gt_sem_seg.data.shape == (1, 64, 64)
    assert all(truncated_image_reason(str(p)) == '' for p in (root / 'JPEGImages').iterdir())
    assert _digest(root) == before


@pytest.mark.parametrize('suffix', ['.jpg', '.png'])
def test_truncated_image_fails_naming_the_file(root, suffix):
    name = 'train_0003'
    if suffix == '.png':  # the same dataset with PNG images
        for p in (root / 'JPEGImages').iterdir():
            cv2.imwrite(str(p.with_suffix('.png')), cv2.imread(str(p)))
    path = root / 'JPEGImages' / f'{name}{suffix}'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) * 2 // 3])
    assert cv2.imread(str(path)) is not None or suffix == '.png'  # cv2 decodes it "fine"
    before = _digest(root)
    ds = DATASETS.build(_cfg(root, img_suffix=suffix))
    with pytest.raises(DataFileError, match=re.escape(str(path)) + '.*truncated'):
        ds[3]
    assert ds[2]['data_samples'].img_path.endswith(f'train_0002{suffix}')
    assert _digest(root) == before


def test_truncated_image_is_skipped_with_a_warning_under_the_option(root):
    path = root / 'JPEGImages' / 'train_0003.jpg'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    ds = DATASETS.build(_cfg(root, truncated_images='skip'))
    with pytest.warns(UserWarning, match=re.escape(str(path)) + '.*truncated.*skipped'):
        item = ds[3]  # mmengine draws another sample
    assert not item['data_samples'].img_path.endswith('train_0003.jpg')
    assert len(ds) == 16
    test_ds = DATASETS.build(_cfg(root, test_mode=True))
    with pytest.raises(DataFileError, match='train_0003.jpg'):  # never skipped when scoring
        test_ds[3]
    # an evaluated set would score another image in place of a skipped one: refused
    with pytest.raises(ValueError, match="truncated_images='skip' is for training sets only"):
        DATASETS.build(_cfg(root, truncated_images='skip', test_mode=True))
    with pytest.raises(ValueError, match="'error' or 'skip'"):
        DATASETS.build(_cfg(root, truncated_images='ignore'))


def test_mask_of_another_size_fails_naming_the_file(root):
    path = root / 'SegmentationClass' / 'train_0002.png'
    _save_mask(path, np.zeros((32, 64), np.uint8))
    before = _digest(root)
    # refused when the dataset is built (from the file headers), not at the end of a run
    with pytest.raises(DataFileError, match=re.escape(str(path)) + r'.* is 32x64 .*image '
                       + re.escape(repr(str(root / 'JPEGImages' / 'train_0002.jpg')))
                       + ' is 64x64'):
        DATASETS.build(_cfg(root))
    assert _digest(root) == before
    # the per-sample check still holds for a mask that changes after the build
    _save_mask(path, np.zeros((64, 64), np.uint8))
    ds = DATASETS.build(_cfg(root))
    _save_mask(path, np.zeros((32, 64), np.uint8))
    with pytest.raises(DataFileError, match=re.escape(str(path)) + r'.* is 32x64 .*image is 64x64'):
        ds[2]


def test_rgb_mask_fails_naming_the_file(root):
    path = root / 'SegmentationClass' / 'train_0004.png'
    mask = np.asarray(Image.open(path))
    rgb = np.asarray(SYNTHETIC_PALETTE, np.uint8)[mask]  # the colours, not the indices
    Image.fromarray(rgb, mode='RGB').save(path)
    before = _digest(root)
    ds = DATASETS.build(_cfg(root))
    with pytest.raises(DataFileError, match=re.escape(str(path)) + r'.*\(64, 64, 3\).*RGB'):
        ds[4]
    with pytest.raises(DataFileError, match=re.escape(str(path)) + '.*RGB'):
        DATASETS.build(_cfg(root, cls_label_file=None, labels_from_masks=True))
    assert _digest(root) == before


def test_mask_values_beyond_the_classes_fail_but_255_passes(root):
    path = root / 'SegmentationClass' / 'train_0006.png'
    mask = np.asarray(Image.open(path)).copy()
    mask[:4, :4] = 255
    _save_mask(path, mask)
    ds = DATASETS.build(_cfg(root))
    assert (ds[6]['data_samples'].gt_sem_seg.data[0, :4, :4] == 255).all()  # void is fine
    mask[10:12, 10:12] = NUM_CLASSES + 3
    mask[20, 20] = NUM_CLASSES
    _save_mask(path, mask)
    before = _digest(root)
    with pytest.raises(DataFileError, match=re.escape(str(path)) +
                       rf'.*values \[{NUM_CLASSES}, {NUM_CLASSES + 3}\] beyond the {NUM_CLASSES}'):
        ds[6]
    assert _digest(root) == before


@pytest.mark.parametrize('content,expect', [
    ('{"labels": {"train_0000": [1],', r'not valid JSON \(Expecting'),
    ('[[1], [2]]', 'holds a JSON list, expected an object'),
    ('{"labels": 3}', 'holds a JSON int, expected an object'),
])
def test_malformed_label_file_names_the_file(root, content, expect):
    (root / 'cls_labels.json').write_text(content)
    before = _digest(root)
    with pytest.raises(DataFileError, match=re.escape(str(root / 'cls_labels.json')) + '.*' +
                       expect):
        DATASETS.build(_cfg(root))
    assert _digest(root) == before


@pytest.mark.parametrize('entry,expect', [
    (2, r"image 'train_0005' has 2 \(int\), expected a list of class indices"),
    ('2', r"image 'train_0005' has '2' \(str\), expected a list"),
    ([2, '3'], r"image 'train_0005' has class index '3', expected an integer in 1..5"),
    ([True], r"image 'train_0005' has class index True"),
])
def test_label_entry_of_the_wrong_structure_names_file_and_entry(root, entry, expect):
    meta = json.load(open(root / 'cls_labels.json'))
    meta['labels']['train_0005'] = entry
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    with pytest.raises(DataFileError, match=re.escape(str(root / 'cls_labels.json')) + ': ' +
                       expect):
        DATASETS.build(_cfg(root))


def test_plain_npy_array_instead_of_a_dict_is_refused(root):
    path = root / 'cls_labels.npy'
    np.save(path, np.zeros((16, 5), np.float32))
    before = _digest(root)
    with pytest.raises(DataFileError, match=re.escape(str(path)) +
                       r'.*plain float32 array of shape \(16, 5\), expected a pickled dict'):
        DATASETS.build(_cfg(root, cls_label_file='cls_labels.npy'))
    path.write_bytes(b'\x93NUMPY truncated')
    with pytest.raises(DataFileError, match=re.escape(str(path)) + '.*cannot be read'):
        DATASETS.build(_cfg(root, cls_label_file='cls_labels.npy'))
    np.save(path, {'train_0000': 'person'})
    with pytest.raises(DataFileError, match=re.escape(str(path)) + ": image 'train_0000' has"):
        DATASETS.build(_cfg(root, cls_label_file='cls_labels.npy'))
    assert _digest(root) == {**before, 'cls_labels.npy': _digest(root)['cls_labels.npy']}


def test_duplicate_names_in_a_split_are_refused(root):
    split = root / 'ImageSets' / 'Segmentation' / 'train.txt'
    names = split.read_text().split()
    split.write_text('\n'.join(names[:5] + [names[1]] + names[5:]) + '\n')
    before = _digest(root)
    with pytest.raises(DataFileError, match=re.escape(str(split)) +
                       rf".*1 name\(s\) more than once: '{names[1]}' \(lines 2 and 6\)"):
        DATASETS.build(_cfg(root))
    assert _digest(root) == before


def test_split_without_any_positive_label_warns(root):
    meta = json.load(open(root / 'cls_labels.json'))
    meta['labels'] = {name: [] for name in meta['labels']}
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    with pytest.warns(UserWarning, match=r"none of the 16 images of split .*train\.txt'? has a "
                      r'positive image-level label in cls_labels\.json'):
        ds = DATASETS.build(_cfg(root))
    assert len(ds) == 16  # a warning, not an error
    meta['labels']['train_0007'] = [2]
    json.dump(meta, open(root / 'cls_labels.json', 'w'))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        DATASETS.build(_cfg(root))  # one positive label: no warning


def test_readers_for_the_tools_refuse_what_the_pipeline_refuses(root):
    img_path = root / 'JPEGImages' / 'train_0001.jpg'
    mask_path = root / 'SegmentationClass' / 'train_0001.png'
    image = read_image(str(img_path))
    assert image.shape == (64, 64, 3) and np.array_equal(image, cv2.imread(str(img_path)))
    mask = read_mask(str(mask_path), NUM_CLASSES, image.shape[:2])
    assert np.array_equal(mask, np.asarray(Image.open(mask_path)))
    data = img_path.read_bytes()
    img_path.write_bytes(data[:len(data) // 2])
    with pytest.raises(DataFileError, match=re.escape(str(img_path)) + '.*JPEG file is truncated'):
        read_image(str(img_path))
    (root / 'JPEGImages' / 'text.jpg').write_text('not an image')
    with pytest.raises(DataFileError, match=r'text\.jpg.*cannot be decoded'):
        read_image(str(root / 'JPEGImages' / 'text.jpg'))
    with pytest.raises(DataFileError, match=re.escape(str(mask_path)) + '.* is 64x64 .*48x64'):
        read_mask(str(mask_path), NUM_CLASSES, (48, 64))
    present = sorted(set(np.unique(mask).tolist()) - {0, 255})
    with pytest.raises(DataFileError, match=re.escape(str(mask_path)) +
                       re.escape(f"' holds values {present} beyond the 1 classes")):
        read_mask(str(mask_path), 1)  # a "dataset" of background only
    mask_data = mask_path.read_bytes()
    mask_path.write_bytes(mask_data[:len(mask_data) // 2])
    with pytest.raises(DataFileError, match=re.escape(str(mask_path)) + '.*cannot be read'):
        read_mask(str(mask_path), NUM_CLASSES)


def _corrupt_middle(path):
    """Overwrite 40 bytes in the middle of the entropy-coded data with marker-like bytes:
    OpenCV still decodes the file (printing libjpeg's nameless "Corrupt JPEG data")."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 40] = bytes([0xFF, 0xD3] * 20)
    path.write_bytes(bytes(data))


def test_jpeg_corrupt_in_the_middle_fails_naming_the_file(root):
    path = root / 'JPEGImages' / 'train_0005.jpg'
    _corrupt_middle(path)
    assert cv2.imread(str(path)) is not None  # decoded "fine" by OpenCV
    assert truncated_image_reason(str(path)) == ''  # its end marker is there
    before = _digest(root)
    ds = DATASETS.build(_cfg(root))
    with pytest.raises(DataFileError, match=re.escape(repr(str(path))) + ': JPEG data is corrupt'):
        ds[5]
    with pytest.raises(DataFileError, match=re.escape(repr(str(path))) + ': JPEG data is corrupt'):
        read_image(str(path))  # the pseudo-label tools
    skip = DATASETS.build(_cfg(root, truncated_images='skip'))
    with pytest.warns(UserWarning, match=re.escape(str(path)) + '.*corrupt.*skipped'):
        item = skip[5]
    # the sample drawn instead keeps its own image and mask together
    name = os.path.basename(item['data_samples'].img_path)[:-4]
    assert name != 'train_0005'
    assert item['data_samples'].seg_map_path.endswith(f'{name}.png')
    assert _digest(root) == before
