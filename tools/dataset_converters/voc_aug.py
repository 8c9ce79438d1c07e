"""PASCAL VOC 2012 + SBD in the layout of the VOC configs (configs/_base_/datasets/voc12_aug.py).

    python tools/dataset_converters/voc_aug.py VOCdevkit benchmark_RELEASE \
        --out data/VOCdevkit/VOC2012

Inputs, as their archives unpack (neither is written to):
- ``VOCdevkit`` (``VOCtrainval_11-May-2012.tar``): ``VOC2012/{JPEGImages, SegmentationClass,
  ImageSets/Segmentation/{train,val}.txt}`` (the ``VOC2012`` directory itself is accepted too);
- ``benchmark_RELEASE`` (SBD, ``benchmark.tgz``): ``dataset/{cls/*.mat, train.txt, val.txt}``.

Output directory ``--out`` (refused inside either input):
- ``JPEGImages``, ``SegmentationClass``: links to the VOC directories (``--copy``: copies);
- ``SegmentationClassAug/<name>.png``: SBD's ``GTcls.Segmentation`` of every SBD image (train and
  val) as single-channel class-index PNGs, as mmseg's ``tools/dataset_converters/voc_aug.py``;
- ``ImageSets/Segmentation/``: ``train.txt`` and ``val.txt`` (VOC's, 1,464 and 1,449 images),
  ``aug.txt`` = SBD train + val minus VOC train and val (9,118; the configs train on
  ``train`` + ``aug`` = 10,582 images) and ``trainaug.txt`` = VOC train + SBD minus VOC val
  (10,582), both as mmseg's converter defines them;
- ``cls_labels.npy``: PSA / SEAM's image-level labels ``{name: float32 multi-hot over the 20
  foreground classes}`` of every image of train, aug and val, made from the masks the configs
  pair with each split (VOC train / val: ``SegmentationClass``; aug: ``SegmentationClassAug``);
  PSA's own file was made from the XML annotations, SEAM documents regenerating it from masks.

Check the result with ``python tools/check_dataset.py configs/hfpl/seam_voc.py --data-root OUT``.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from multiprocessing import Pool

import numpy as np
from PIL import Image

NUM_CLASSES = 21  # background + the 20 VOC classes
# the full datasets (mmseg's converter asserts the same: AUG_LEN = 10582)
EXPECTED = dict(train=1464, val=1449, aug=9118, trainaug=10582)


def read_list(path: str) -> list:
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path!r} does not exist')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def write_list(path: str, names) -> None:
    with open(path, 'w') as f:
        f.writelines(name + '\n' for name in names)


def find_voc(path: str) -> str:
    """The VOC2012 directory of a VOCdevkit (or the VOC2012 directory itself)."""
    for root in (osp.join(path, 'VOC2012'), path):
        if osp.isdir(osp.join(root, 'JPEGImages')):
            break
    else:
        raise FileNotFoundError(f'{path!r} holds neither VOC2012/JPEGImages nor JPEGImages: '
                                'give the VOCdevkit directory of VOCtrainval_11-May-2012.tar')
    for sub in ('SegmentationClass', 'ImageSets/Segmentation/train.txt',
                'ImageSets/Segmentation/val.txt'):
        if not osp.exists(osp.join(root, sub)):
            raise FileNotFoundError(f'{osp.join(root, sub)!r} does not exist (VOC 2012 layout)')
    return root


def find_sbd(path: str) -> str:
    """The ``dataset`` directory of SBD's benchmark_RELEASE (or that directory itself)."""
    for root in (osp.join(path, 'dataset'), path):
        if osp.isdir(osp.join(root, 'cls')):
            break
    else:
        raise FileNotFoundError(f'{path!r} holds neither dataset/cls nor cls: give SBD\'s '
                                'benchmark_RELEASE directory (benchmark.tgz)')
    for sub in ('train.txt', 'val.txt'):
        if not osp.isfile(osp.join(root, sub)):
            raise FileNotFoundError(f'{osp.join(root, sub)!r} does not exist (SBD layout)')
    return root


def inside(path: str, root: str) -> bool:
    path, root = osp.realpath(path), osp.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def sbd_mask(mat_path: str) -> np.ndarray:
    """``GTcls.Segmentation`` of an SBD ``cls/<name>.mat`` (uint8 class indices 0..20)."""
    from scipy.io import loadmat
    if not osp.isfile(mat_path):
        raise FileNotFoundError(f'SBD mask {mat_path!r} does not exist')
    try:
        mask = loadmat(mat_path)['GTcls'][0]['Segmentation'][0]
    except Exception as err:
        raise ValueError(f'{mat_path!r}: no GTcls.Segmentation ({type(err).__name__}: '
                         f'{err})') from err
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.size == 0 or mask.min() < 0 or mask.max() >= NUM_CLASSES:
        raise ValueError(f'{mat_path!r}: GTcls.Segmentation of shape {mask.shape} with values '
                         f'{np.unique(mask).tolist()[:10]}, expected a 2-d map of 0..20')
    return mask.astype(np.uint8)


def multi_hot(mask: np.ndarray) -> np.ndarray:
    """The foreground classes present in a mask (0 = background and 255 = void left out)."""
    vec = np.zeros(NUM_CLASSES - 1, np.float32)
    present = np.unique(mask)
    present = present[(present > 0) & (present < NUM_CLASSES)]
    vec[present - 1] = 1
    return vec


def convert_one(args) -> tuple:
    """Write ``SegmentationClassAug/<name>.png`` from SBD; returns (name, labels, error)."""
    name, sbd, voc, out = args
    try:
        mask = sbd_mask(osp.join(sbd, 'cls', name + '.mat'))
        image = osp.join(voc, 'JPEGImages', name + '.jpg')
        if not osp.isfile(image):
            raise FileNotFoundError(f'image {image!r} of SBD image {name!r} does not exist')
        with Image.open(image) as img:
            width, height = img.size
        if mask.shape != (height, width):
            raise ValueError(f'SBD mask of {name!r} is {mask.shape[0]}x{mask.shape[1]} (HxW) '
                             f'but its image {image!r} is {height}x{width}')
        Image.fromarray(mask).save(osp.join(out, 'SegmentationClassAug', name + '.png'))
        return name, multi_hot(mask), None
    except (OSError, ValueError) as err:
        return name, None, str(err)


def voc_labels(args) -> tuple:
    """The image-level labels of a VOC ``SegmentationClass`` mask: (name, labels, error)."""
    name, voc = args
    path = osp.join(voc, 'SegmentationClass', name + '.png')
    try:
        with Image.open(path) as img:
            mask = np.asarray(img)
    except OSError as err:
        return name, None, f'mask {path!r} cannot be read ({err})'
    if mask.ndim != 2:
        return name, None, f'mask {path!r} has shape {mask.shape}, expected a palette PNG'
    return name, multi_hot(mask), None


def link_or_copy(src: str, dst: str, copy: bool) -> None:
    if osp.islink(dst):
        os.unlink(dst)
    if copy:
        shutil.copytree(src, dst, dirs_exist_ok=True)
    elif not osp.exists(dst):
        os.symlink(osp.realpath(src), dst, target_is_directory=True)
    else:
        raise FileExistsError(f'{dst!r} exists and is not a link')


def convert(devkit: str, sbd_root: str, out: str, copy: bool = False, overwrite: bool = False,
            nproc: int = 1) -> dict:
    """Build ``out`` (see the module docstring); returns the number of images per split."""
    voc, sbd = find_voc(devkit), find_sbd(sbd_root)
    for name, src in (('VOC', voc), ('VOCdevkit', devkit), ('SBD', sbd),
                      ('benchmark_RELEASE', sbd_root)):
        if inside(out, src):
            raise ValueError(f'--out {out!r} is inside the {name} input {src!r}: the inputs are '
                             'never written to; choose a directory outside them')
    if osp.isdir(out) and os.listdir(out) and not overwrite:
        raise FileExistsError(f'--out {out!r} exists and is not empty (--overwrite replaces '
                              'what this tool writes there)')
    splits = osp.join(out, 'ImageSets', 'Segmentation')
    os.makedirs(splits, exist_ok=True)
    os.makedirs(osp.join(out, 'SegmentationClassAug'), exist_ok=True)

    voc_train = read_list(osp.join(voc, 'ImageSets', 'Segmentation', 'train.txt'))
    voc_val = read_list(osp.join(voc, 'ImageSets', 'Segmentation', 'val.txt'))
    sbd_all = list(dict.fromkeys(read_list(osp.join(sbd, 'train.txt')) +
                                 read_list(osp.join(sbd, 'val.txt'))))
    voc_names = set(voc_train) | set(voc_val)
    aug = sorted(set(sbd_all) - voc_names)
    trainaug = sorted((set(voc_train) | set(sbd_all)) - set(voc_val))

    errors, labels = [], {}
    with Pool(nproc) if nproc > 1 else _Serial() as pool:
        for name, vec, err in pool.imap(convert_one, [(n, sbd, voc, out) for n in sbd_all],
                                        chunksize=16):
            if err:
                errors.append(err)
            elif name not in voc_names:
                labels[name] = vec
        for name, vec, err in pool.imap(voc_labels, [(n, voc) for n in voc_train + voc_val],
                                        chunksize=16):
            if err:
                errors.append(err)
            else:
                labels[name] = vec
    if errors:
        raise RuntimeError(f'{len(errors)} problem(s) in the inputs:\n' + '\n'.join(errors))
    for sub in ('JPEGImages', 'SegmentationClass'):
        link_or_copy(osp.join(voc, sub), osp.join(out, sub), copy)
    for name, names in (('train', voc_train), ('val', voc_val), ('aug', aug),
                        ('trainaug', trainaug)):
        write_list(osp.join(splits, name + '.txt'), names)
    np.save(osp.join(out, 'cls_labels.npy'), labels)
    return dict(train=len(voc_train), val=len(voc_val), aug=len(aug), trainaug=len(trainaug),
                masks=len(sbd_all), labels=len(labels))


class _Serial:
    """``Pool``'s ``imap`` in this process (``--nproc 1``)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap(func, items, chunksize=1):
        return map(func, items)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('devkit', help='VOCdevkit (holding VOC2012/) of the VOC 2012 tarball')
    parser.add_argument('sbd', help="SBD's benchmark_RELEASE (holding dataset/cls/)")
    parser.add_argument('--out', required=True,
                        help='the prepared dataset (the data_root of the VOC configs)')
    parser.add_argument('--copy', action='store_true',
                        help='copy JPEGImages / SegmentationClass instead of linking them')
    parser.add_argument('--overwrite', action='store_true',
                        help='write into a non-empty --out (replacing what this tool wrote)')
    parser.add_argument('--nproc', type=int, default=1, help='processes for the SBD masks')
    args = parser.parse_args(argv)
    try:
        counts = convert(args.devkit, args.sbd, args.out, args.copy, args.overwrite, args.nproc)
    except (OSError, ValueError, RuntimeError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for split in ('train', 'aug', 'trainaug', 'val'):
        note = '' if counts[split] == EXPECTED[split] else \
            f' (the full VOC 2012 + SBD give {EXPECTED[split]})'
        print(f'{split}: {counts[split]} images{note}')
    print(f"SegmentationClassAug: {counts['masks']} masks; cls_labels.npy: {counts['labels']} "
          f'images -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
