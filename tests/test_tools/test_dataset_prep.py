"""tools/dataset_converters/voc_aug.py and tools/check_dataset.py on tiny fake VOC 2012 / SBD
trees made here (SBD's masks written with scipy.io.savemat in its GTcls struct layout)."""
import hashlib
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image
from scipy.io import savemat

from tests.test_readme import readme_block

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'hfpl', 'seam_voc.py')
VOC_TRAIN = ['2007_000001', '2007_000002']
VOC_VAL = ['2007_000003']
SBD_TRAIN = ['2007_000001', '2008_000010', '2008_000011']  # overlaps VOC train
SBD_VAL = ['2007_000003', '2008_000012']  # overlaps VOC val
# the image-level labels the masks below give (foreground classes, 1..20)
CLASSES = {'2007_000001': [15], '2007_000002': [7, 12], '2007_000003': [1],
           '2008_000010': [3], '2008_000011': [20, 5], '2008_000012': [9]}
# the tiny trees' counts in check_dataset's terms
COUNTS = ['train=2', 'aug=3', 'val=1', 'train_dataloader=5']


def make_mask(name, h, w, boundary=False):
    mask = np.zeros((h, w), np.uint8)
    for k, cls in enumerate(CLASSES[name]):
        mask[4 + 10 * k:12 + 10 * k, 5:25] = cls
    if boundary:  # VOC's void outline
        mask[3, 5:25] = 255
    return mask


def make_sources(root):
    """``root/VOCdevkit/VOC2012`` and ``root/benchmark_RELEASE`` as their archives unpack."""
    voc = root / 'VOCdevkit' / 'VOC2012'
    for d in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation', 'Annotations'):
        (voc / d).mkdir(parents=True)
    cls_dir = root / 'benchmark_RELEASE' / 'dataset' / 'cls'
    cls_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, name in enumerate(sorted(CLASSES) + ['2009_000099']):  # one image in no split
        h, w = 40 + 2 * i, 48
        cv2.imwrite(str(voc / 'JPEGImages' / f'{name}.jpg'),
                    rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        if name in VOC_TRAIN + VOC_VAL:
            png = Image.fromarray(make_mask(name, h, w, boundary=True), mode='P')
            png.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
            png.save(voc / 'SegmentationClass' / f'{name}.png')
        if name in SBD_TRAIN + SBD_VAL:
            gt = {'Segmentation': make_mask(name, h, w),
                  'Boundaries': np.empty((0, 0)), 'CategoriesPresent': np.array(CLASSES[name])}
            savemat(cls_dir / f'{name}.mat', {'GTcls': gt})
    for path, names in ((voc / 'ImageSets/Segmentation/train.txt', VOC_TRAIN),
                        (voc / 'ImageSets/Segmentation/val.txt', VOC_VAL),
                        (cls_dir.parent / 'train.txt', SBD_TRAIN),
                        (cls_dir.parent / 'val.txt', SBD_VAL)):
        path.write_text(''.join(n + '\n' for n in names))
    return root / 'VOCdevkit', root / 'benchmark_RELEASE'


def tree_digest(path):
    digest = hashlib.sha1()
    for dirpath, _, files in sorted(os.walk(path)):
        for f in sorted(files):
            digest.update(osp.join(dirpath, f).encode())
            digest.update(open(osp.join(dirpath, f), 'rb').read())
    return digest.hexdigest()


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def check(out, *extra):
    return run('tools/check_dataset.py', CONFIG, '--data-root', out, '--counts', *COUNTS, *extra)


def test_converter_output_is_the_config_layout_and_passes_the_check(tmp_path):
    devkit, sbd = make_sources(tmp_path / 'raw')
    before = tree_digest(tmp_path / 'raw')
    out = tmp_path / 'VOC2012'
    res = run('tools/dataset_converters/voc_aug.py', devkit, sbd, '--out', out)
    assert res.returncode == 0, res.stderr
    splits = out / 'ImageSets' / 'Segmentation'
    read = lambda f: (splits / f).read_text().split()  # noqa: E731
    assert read('train.txt') == VOC_TRAIN and read('val.txt') == VOC_VAL
    # mmseg's aug: SBD train + val minus VOC train and val; trainaug: + VOC train, minus VOC val
    assert read('aug.txt') == ['2008_000010', '2008_000011', '2008_000012']
    assert read('trainaug.txt') == ['2007_000001', '2007_000002', '2008_000010', '2008_000011',
                                    '2008_000012']
    assert 'train: 2 images (the full VOC 2012 + SBD give 1464)' in res.stdout
    # SBD's GTcls.Segmentation, as single-channel index PNGs of every SBD image
    assert sorted(os.listdir(out / 'SegmentationClassAug')) == sorted(
        f'{n}.png' for n in SBD_TRAIN + SBD_VAL)
    aug_mask = np.asarray(Image.open(out / 'SegmentationClassAug' / '2008_000011.png'))
    assert aug_mask.dtype == np.uint8 and aug_mask.ndim == 2
    assert set(np.unique(aug_mask)) == {0, 5, 20}
    # the VOC directories are linked, not copied
    assert osp.realpath(out / 'JPEGImages') == osp.realpath(devkit / 'VOC2012' / 'JPEGImages')
    # PSA's cls_labels.npy: {name: float32 20-d multi-hot} of every train / aug / val image,
    # from the masks (VOC's own for VOC train / val, SBD's for aug)
    labels = np.load(out / 'cls_labels.npy', allow_pickle=True).item()
    assert set(labels) == set(CLASSES)
    for name, classes in CLASSES.items():
        expected = np.zeros(20, np.float32)
        expected[np.array(classes) - 1] = 1
        assert labels[name].dtype == np.float32
        np.testing.assert_array_equal(labels[name], expected)
    assert tree_digest(tmp_path / 'raw') == before  # the sources are untouched
    res = check(out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'OK' in res.stdout and 'aug: 3 images' in res.stdout and 'val: 1 images' in res.stdout
    # the configs' dataset builds on it and yields the labels
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    cfg = Config.fromfile(CONFIG)
    ds_cfg = cfg.train_dataloader.dataset.datasets[1]
    ds = DATASETS.build(dict(ds_cfg, data_root=str(out), pipeline=[]))
    assert len(ds) == 3
    np.testing.assert_array_equal(ds.get_data_info(1)['img_label'], labels['2008_000011'])


def test_check_names_every_problem(tmp_path):
    devkit, sbd = make_sources(tmp_path / 'raw')
    out = tmp_path / 'VOC2012'
    assert run('tools/dataset_converters/voc_aug.py', devkit, sbd, '--out', out,
               '--copy').returncode == 0
    os.remove(out / 'JPEGImages' / '2008_000010.jpg')  # a missing image
    bad = np.asarray(Image.open(out / 'SegmentationClassAug' / '2008_000012.png')).copy()
    bad[0, 0] = 30  # a mask out of range
    Image.fromarray(bad).save(out / 'SegmentationClassAug' / '2008_000012.png')
    with open(out / 'ImageSets' / 'Segmentation' / 'val.txt', 'a') as f:
        f.write('2009_000099\n')  # a wrong count (and an image without mask and label)
    labels = np.load(out / 'cls_labels.npy', allow_pickle=True).item()
    labels['2007_000002'][0] = 1  # a label its mask does not hold
    np.save(out / 'cls_labels.npy', labels)
    res = check(out)
    assert res.returncode == 1
    errors = [ln for ln in res.stdout.splitlines() if ln.startswith('ERROR')]
    text = '\n'.join(errors)
    assert "aug: '2008_000010': image" in text and '2008_000010.jpg' in text
    assert "aug: '2008_000012': mask" in text and 'values [30]' in text
    assert 'val.txt' in text and 'lists 2 images, expected 1' in text
    assert "val: '2009_000099': mask" in text and 'does not exist' in text
    assert "val: '2009_000099': no entry in" in text
    assert "train: '2007_000002': image-level label [1, 7, 12]" in text
    assert 'holds classes [7, 12]' in text
    assert len(errors) == 6, text
    assert '6 problem(s)' in res.stdout


def test_converter_refuses_to_write_into_its_sources_or_a_full_directory(tmp_path):
    devkit, sbd = make_sources(tmp_path / 'raw')
    before = tree_digest(tmp_path / 'raw')
    for out in (devkit / 'VOC2012', devkit / 'VOC2012' / 'prepared', sbd / 'out'):
        res = run('tools/dataset_converters/voc_aug.py', devkit, sbd, '--out', out)
        assert res.returncode == 1 and 'is inside the' in res.stderr, res.stderr
    assert tree_digest(tmp_path / 'raw') == before
    full = tmp_path / 'full'
    full.mkdir()
    (full / 'keep.txt').write_text('x')
    res = run('tools/dataset_converters/voc_aug.py', devkit, sbd, '--out', full)
    assert res.returncode == 1 and 'not empty' in res.stderr
    assert (full / 'keep.txt').read_text() == 'x'
    # an SBD image whose VOC image is missing: named, and nothing is linked or listed
    os.remove(devkit / 'VOC2012' / 'JPEGImages' / '2008_000011.jpg')
    res = run('tools/dataset_converters/voc_aug.py', devkit, sbd, '--out', tmp_path / 'o')
    assert res.returncode == 1 and '2008_000011.jpg' in res.stderr
    assert not (tmp_path / 'o' / 'cls_labels.npy').exists()


def test_readme_data_preparation_commands_run_as_written(tmp_path):
    """docs/en/dataset_prepare.md's VOC data block, in a working directory holding
    ``configs/``, ``tools/``,
    ``.venv`` and the two archives unpacked under ``data/raw``; only the expected counts of
    the check are those of the tiny tree."""
    commands = readme_block('voc-prepare', 'docs/en/dataset_prepare.md')
    assert [c.split()[1] for c in commands] == ['tools/dataset_converters/voc_aug.py',
                                                 'tools/check_dataset.py']
    for name in ('configs', 'tools'):
        os.symlink(osp.join(ROOT, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    make_sources(tmp_path / 'data' / 'raw')
    env = dict(os.environ, PYTHONPATH=ROOT)
    for command in commands:
        args = shlex.split(command)
        if 'tools/check_dataset.py' in args:
            args += ['--counts', *COUNTS]
        res = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env,
                             timeout=300)
        assert res.returncode == 0, f'{command}\n{res.stdout}{res.stderr}'
    assert 'OK' in res.stdout
    assert (tmp_path / 'data' / 'VOCdevkit' / 'VOC2012' / 'cls_labels.npy').is_file()
    shutil.rmtree(tmp_path / 'data')
