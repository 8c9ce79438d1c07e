"""tools/dataset_converters/coco2014.py on a tiny COCO 2014 layout made here: the VOC layout that
configs/_base_/datasets/coco2014.py reads (masks, lists of both conventions, cls_labels.npy,
image links), and its refusals (an --out inside the source, files it did not write, masks of
other settings)."""
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_hfpl.datasets.wsss_voc_dataset import COCO_METAINFO

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'dataset_converters'))
import coco2014 as converter  # noqa: E402  tools/dataset_converters/coco2014.py

# the 80 category ids of COCO 2014 (1..90 with gaps), named as WSSSCOCODataset's classes
COCO_IDS = [*range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
            *range(72, 83), *range(84, 91)]
H, W = 6, 8


def _coco_json(split_images, annotations):
    names = COCO_METAINFO['classes'][1:]
    return dict(images=split_images, annotations=annotations,
                categories=[dict(id=i, name=n) for i, n in zip(COCO_IDS, names)])


def make_coco_root(root):
    """train2014: image 9 (a person polygon and a toothbrush crowd region in uncompressed RLE),
    image 25 (a stop sign in compressed RLE), image 30 (no annotation); val2014: image 42 (a
    bicycle polygon), image 43 (no annotation)."""
    splits = {
        'train': ([9, 25, 30], [
            dict(id=1, image_id=9, category_id=1, iscrowd=0, area=12.0,
                 segmentation=[[1, 1, 4, 1, 4, 3, 1, 3]]),
            dict(id=2, image_id=9, category_id=90, iscrowd=1, area=6.0,
                 segmentation=dict(counts=[42, 6], size=[H, W])),
            # counts [12, 6, 4, 26] by hand (maskApi.c rleToString): 12 -> '<', 6 -> '6',
            # 4 -> '4', 26 - 6 = 20 (bit 0x10 set, so a second character) -> 'd', '0'
            dict(id=3, image_id=25, category_id=13, iscrowd=0, area=32.0,
                 segmentation=dict(counts='<64d0', size=[H, W])),
        ]),
        'val': ([42, 43], [
            dict(id=4, image_id=42, category_id=2, iscrowd=0, area=4.0,
                 segmentation=[[0, 0, 1, 0, 1, 1, 0, 1]]),
        ]),
    }
    os.makedirs(osp.join(root, 'annotations'))
    rng = np.random.default_rng(0)
    for split, (ids, anns) in splits.items():
        os.makedirs(osp.join(root, f'{split}2014'))
        images = []
        for i in ids:
            file_name = f'COCO_{split}2014_{i:012d}.jpg'
            cv2.imwrite(osp.join(root, f'{split}2014', file_name),
                        rng.integers(0, 255, (H, W, 3), dtype=np.uint8))
            images.append(dict(id=i, file_name=file_name, height=H, width=W))
        with open(osp.join(root, 'annotations', f'instances_{split}2014.json'), 'w') as f:
            json.dump(_coco_json(images, anns), f)
    return str(root)


def expected_masks(crowd='paint'):
    """By hand: class index = rank of the category id (1 -> 1, 2 -> 2, 13 -> 12, 90 -> 80)."""
    m9 = np.zeros((H, W), np.uint8)
    m9[1:4, 1:5] = 1  # the polygon, edges included
    m9[:, 7] = 80 if crowd == 'paint' else 255  # flat 42..47 (column-major) = column 7
    m25 = np.zeros((H, W), np.uint8)
    m25[:, 2] = 12  # flat 12..17
    m25[4:, 3] = 12  # flat 22..23
    m25[:, 4:] = 12  # flat 24..47
    m42 = np.zeros((H, W), np.uint8)
    m42[0:2, 0:2] = 2
    empty = np.zeros((H, W), np.uint8)
    return {'000000000009': m9, '000000000025': m25, '000000000030': empty,
            '000000000042': m42, '000000000043': empty}


def read_png(path):
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.fixture
def coco_root(tmp_path):
    return make_coco_root(tmp_path / 'coco')


def test_converts_both_splits_to_the_layout_the_config_reads(coco_root, tmp_path, capsys):
    out = str(tmp_path / 'coco2014_voc')
    counts = converter.main([coco_root, '--out', out])
    printed = capsys.readouterr().out
    assert counts == {'train': dict(images=3, annotated=2, listed=3, unlabelled=1),
                      'val': dict(images=2, annotated=1, listed=2, unlabelled=1)}
    assert ('train2014: 3 images in instances_train2014.json, 2 with at least one annotation; '
            '--image-list all: writing 3 (every image id, as hfpl)') in printed
    seg = osp.join(out, 'ImageSets', 'Segmentation')
    assert open(osp.join(seg, 'train.txt')).read().split() == [
        '000000000009', '000000000025', '000000000030']
    assert open(osp.join(seg, 'val.txt')).read().split() == ['000000000042', '000000000043']
    for name, mask in expected_masks().items():
        np.testing.assert_array_equal(read_png(osp.join(out, 'SegmentationClass',
                                                        name + '.png')), mask, err_msg=name)
        link = osp.join(out, 'JPEGImages', name + '.jpg')
        split = 'val' if name >= '000000000042' else 'train'
        assert os.readlink(link) == osp.realpath(
            osp.join(coco_root, f'{split}2014', f'COCO_{split}2014_{name}.jpg'))
    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True).item()
    assert sorted(labels) == sorted(expected_masks())
    assert all(v.shape == (80, ) and v.dtype == np.float32 for v in labels.values())
    assert np.flatnonzero(labels['000000000009']).tolist() == [0, 79]
    assert np.flatnonzero(labels['000000000025']).tolist() == [11]
    assert not labels['000000000030'].any()
    # the COCO dataset config reads it: 81 classes, the labels, the masks
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/coco2014.py'))
    for loader, n in (('train_dataloader', 3), ('val_dataloader', 2)):
        ds = DATASETS.build(dict(cfg[loader].dataset, data_root=out, pipeline=[]))
        assert len(ds) == n and len(ds.metainfo['classes']) == 81
        first = ds[0]
        assert first['seg_map_path'].endswith('.png') and first['img_label'].shape == (80, )


def test_annotated_list_crowd_ignore_and_area_order(coco_root, tmp_path, capsys):
    out = str(tmp_path / 'voc')
    counts = converter.main([coco_root, '--out', out, '--image-list', 'annotated',
                             '--crowd', 'ignore', '--order', 'area', '--splits', 'train'])
    assert counts == {'train': dict(images=3, annotated=2, listed=2, unlabelled=0)}
    assert 'writing 2 (the annotated images, as coco2voc / ToCo / CoSA)' in capsys.readouterr().out
    assert open(osp.join(out, 'ImageSets/Segmentation/train.txt')).read().split() == [
        '000000000009', '000000000025']
    np.testing.assert_array_equal(read_png(osp.join(out, 'SegmentationClass',
                                                    '000000000009.png')),
                                  expected_masks('ignore')['000000000009'])
    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True).item()
    assert np.flatnonzero(labels['000000000009']).tolist() == [0]  # the void crowd: no label
    assert not osp.exists(osp.join(out, 'SegmentationClass', '000000000030.png'))


def test_refuses_an_out_inside_the_source(coco_root):
    with pytest.raises(ValueError, match=r'inside\) the source dataset folder'):
        converter.main([coco_root, '--out', osp.join(coco_root, 'voc')])
    with pytest.raises(ValueError, match=r'inside\) the source dataset folder'):
        converter.main([coco_root, '--out', osp.join(coco_root, 'train2014')])
    assert sorted(os.listdir(coco_root)) == ['annotations', 'train2014', 'val2014']


def test_never_replaces_masks_it_did_not_write(coco_root, tmp_path):
    out = tmp_path / 'voc'
    (out / 'SegmentationClass').mkdir(parents=True)
    foreign = out / 'SegmentationClass' / '000000000009.png'
    Image.fromarray(np.full((H, W), 5, np.uint8)).save(foreign)
    before = foreign.read_bytes()
    for extra in ([], ['--overwrite']):
        with pytest.raises(FileExistsError, match='not written by this converter'):
            converter.main([coco_root, '--out', str(out), *extra])
    assert foreign.read_bytes() == before
    assert sorted(os.listdir(out)) == ['SegmentationClass']


def test_rerun_same_settings_and_other_settings(coco_root, tmp_path):
    out = str(tmp_path / 'voc')
    converter.main([coco_root, '--out', out])
    converter.main([coco_root, '--out', out])  # the same settings: written again, equal
    mask9 = osp.join(out, 'SegmentationClass', '000000000009.png')
    np.testing.assert_array_equal(read_png(mask9), expected_masks()['000000000009'])
    with pytest.raises(FileExistsError, match=r"crowd: 'paint' -> 'ignore'"):
        converter.main([coco_root, '--out', out, '--crowd', 'ignore'])
    np.testing.assert_array_equal(read_png(mask9), expected_masks()['000000000009'])
    converter.main([coco_root, '--out', out, '--crowd', 'ignore', '--splits', 'train',
                    '--overwrite'])
    np.testing.assert_array_equal(read_png(mask9), expected_masks('ignore')['000000000009'])
    # the val masks, list and labels of the old settings are gone with them
    assert not osp.exists(osp.join(out, 'SegmentationClass', '000000000042.png'))
    assert not osp.exists(osp.join(out, 'ImageSets/Segmentation/val.txt'))
    labels = np.load(osp.join(out, 'cls_labels.npy'), allow_pickle=True).item()
    assert sorted(labels) == ['000000000009', '000000000025', '000000000030']


def test_missing_image_is_named(coco_root, tmp_path):
    os.remove(osp.join(coco_root, 'val2014', 'COCO_val2014_000000000043.jpg'))
    with pytest.raises(FileNotFoundError, match="COCO_val2014_000000000043.jpg' of image id 43"):
        converter.main([coco_root, '--out', str(tmp_path / 'voc'), '--splits', 'val'])


def test_readme_command_runs_as_written(tmp_path):
    """docs/en/dataset_prepare.md's conversion command (the coco-convert block), in a working
    directory whose data/coco is the tiny COCO root."""
    import shlex
    import subprocess
    from ..test_readme import readme_block
    (command, ) = readme_block('coco-convert', 'docs/en/dataset_prepare.md')
    make_coco_root(tmp_path / 'data' / 'coco')
    os.symlink(osp.join(ROOT, 'tools'), tmp_path / 'tools')
    os.symlink(sys.prefix, tmp_path / '.venv')
    res = subprocess.run(shlex.split(command), cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'val2014: 2 images in instances_val2014.json' in res.stdout
    out = tmp_path / 'data' / 'coco2014_voc'
    assert (out / 'ImageSets/Segmentation/train.txt').read_text().split() == [
        '000000000009', '000000000025', '000000000030']
    np.testing.assert_array_equal(read_png(out / 'SegmentationClass' / '000000000025.png'),
                                  expected_masks()['000000000025'])
