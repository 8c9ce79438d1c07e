"""Convert MS COCO 2014 (``instances_{train,val}2014.json`` + images) to the VOC layout that
``configs/_base_/datasets/coco2014.py`` reads.

    .venv/bin/python tools/dataset_converters/coco2014.py COCO_ROOT --out data/coco2014_voc \
        [--image-list all|annotated] [--splits train val] [--crowd paint|ignore] \
        [--order annotation|area] [--workers N] [--overwrite]

``COCO_ROOT`` is COCO as unzipped from its site: ``annotations/instances_train2014.json``,
``annotations/instances_val2014.json``, ``train2014/*.jpg``, ``val2014/*.jpg``. Written under
``--out`` (names: the 12-digit image id, as hfpl's ``process_coco.py``; train and val share the
folders):

- ``JPEGImages/<id>.jpg``: symbolic links to the images (nothing is copied);
- ``SegmentationClass/<id>.png``: class-index masks (palette PNGs; 0 background, the 80
  category ids in ascending order -> 1 .. 80, 255 void), filled as hfpl's ``process_coco.py``
  (``mmseg_hfpl/datasets/coco_masks.py`` says how, and what ``--crowd`` / ``--order`` change);
- ``ImageSets/Segmentation/{train,val}.txt``: the image list of each split, by ``--image-list``:
  ``all`` (default): every image of the json, as hfpl (82,783 train / 40,504 val; images without
  annotations get an all-background mask and no label); ``annotated``: the images with at least
  one annotation, as the coco2voc masks that ToCo and CoSA use (82,081 / 40,137). The tool prints
  both counts and the one it wrote;
- ``cls_labels.npy``: ``{id: 80-d multi-hot}`` of the classes present in each mask (hfpl's
  ``make_cls_labels.py`` reads them from the masks too).

Never writes inside ``COCO_ROOT`` (nor lets its output folders hold the sources), and never
replaces masks, images or lists it did not write: ``SegmentationClass/.fingerprint.json`` records
the settings; a rerun with the same settings rewrites the same files, with other settings it
refuses unless ``--overwrite``; a folder with masks and no fingerprint is always refused.
"""
import argparse
import json
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence

import numpy as np
from PIL import Image

from mmseg_hfpl.datasets.coco_masks import (CROWD_MODES, ORDERS, category_index_map,
                                            image_labels, paint_class_mask)
from mmseg_hfpl.datasets.wsss_voc_dataset import voc_colormap
from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.pseudo_labels.fingerprint import read_fingerprint, write_fingerprints

IMAGE_LISTS = ('all', 'annotated')
CONVERTER_VERSION = 1  # bump when the masks of the same settings change
_PALETTE = [v for rgb in voc_colormap(256) for v in rgb]


def parse_args(argv: Optional[Sequence[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('coco_root', help='holds annotations/instances_<split>2014.json and '
                        '<split>2014/')
    parser.add_argument('--out', required=True, help='the VOC-layout root (data_root of '
                        'configs/_base_/datasets/coco2014.py: data/coco2014_voc)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'], choices=['train', 'val'])
    parser.add_argument('--image-list', choices=IMAGE_LISTS, default='all',
                        help="all: every image id (hfpl); annotated: the images with at least "
                        'one annotation (coco2voc, ToCo, CoSA)')
    parser.add_argument('--crowd', choices=CROWD_MODES, default='paint',
                        help='crowd regions: painted with their class (hfpl) or 255 (void)')
    parser.add_argument('--order', choices=ORDERS, default='annotation',
                        help='overlaps: the later annotation on top (hfpl) or the smaller area '
                        '(coco2voc)')
    parser.add_argument('--workers', type=int, default=0, help='processes (0: this one)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace masks that this tool wrote with other settings')
    return parser.parse_args(argv)


def _inside(path: str, folder: str) -> bool:
    path, folder = osp.realpath(path), osp.realpath(folder)
    return path == folder or path.startswith(folder + os.sep)


def check_output_location(out: str, sources: Sequence[str]) -> None:
    """Refuse an ``out`` equal to or inside a source folder, and output folders that would hold
    a source (the images or annotations)."""
    for src in sources:
        if _inside(out, src):
            raise ValueError(f'refusing to write to {out!r}: it is (inside) the source dataset '
                             f'folder {src!r}; choose an --out outside it')
        for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets'):
            if _inside(src, osp.join(out, sub)):
                raise ValueError(f'refusing to write to {out!r}: its {sub}/ would hold the '
                                 f'source {src!r}')


def check_previous_outputs(out: str, settings: dict, overwrite: bool) -> None:
    """Refuse to replace files this tool did not write (masks, image links, lists, labels in a
    folder without its fingerprint), and, unless ``overwrite``, masks of other settings."""
    mask_dir = osp.join(out, 'SegmentationClass')
    old = read_fingerprint(mask_dir) if osp.isdir(mask_dir) else None
    ours = isinstance(old, dict) and old.get('kind') == settings['kind']
    existing = [p for p in (osp.join(out, 'cls_labels.npy'),
                            osp.join(out, 'ImageSets', 'Segmentation', 'train.txt'),
                            osp.join(out, 'ImageSets', 'Segmentation', 'val.txt'))
                if osp.exists(p)]
    for sub, suffix in (('SegmentationClass', '.png'), ('JPEGImages', '.jpg')):
        folder = osp.join(out, sub)
        if osp.isdir(folder) and any(f.endswith(suffix) for f in os.listdir(folder)):
            existing.append(folder)
    if existing and not ours:
        raise FileExistsError(f'{out!r} holds {existing[0]!r} not written by this converter (no '
                              f'{mask_dir}/.fingerprint.json of kind {settings["kind"]!r}); '
                              'refusing to replace it: choose another --out')
    if ours:
        want = json.loads(json.dumps(dict(settings, version=old.get('version'))))
        if old != want and not overwrite:
            diff = ', '.join(f'{k}: {old.get(k)!r} -> {want.get(k)!r}'
                             for k in sorted(set(old) | set(want)) if old.get(k) != want.get(k))
            raise FileExistsError(f'{mask_dir!r} holds masks this converter wrote with other '
                                  f'settings ({diff}); --overwrite replaces them')
        if old != want:  # --overwrite: none of the old masks, lists or labels may stay
            for f in os.listdir(mask_dir):
                if f.endswith('.png'):
                    os.remove(osp.join(mask_dir, f))
            for p in existing:
                if osp.isfile(p):
                    os.remove(p)


def load_split(coco_root: str, split: str) -> dict:
    path = osp.join(coco_root, 'annotations', f'instances_{split}2014.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path!r} does not exist (COCO_ROOT must hold '
                                f'annotations/instances_{split}2014.json)')
    with open(path) as f:
        data = json.load(f)
    for key in ('images', 'annotations', 'categories'):
        if key not in data:
            raise ValueError(f'{path}: no "{key}" (not a COCO instances file?)')
    data['path'] = path
    return data


def image_name(image: dict) -> str:
    return f'{int(image["id"]):012d}'


def _convert_one(task) -> np.ndarray:
    """Paint and write one mask; returns its image-level labels."""
    name, height, width, anns, out, category_index, crowd, order, num_categories = task
    mask = paint_class_mask(anns, height, width, category_index, crowd=crowd, order=order)
    path = osp.join(out, 'SegmentationClass', name + '.png')
    tmp = f'{path}.tmp{os.getpid()}.png'
    img = Image.fromarray(mask, mode='P')
    img.putpalette(_PALETTE)
    img.save(tmp)
    os.replace(tmp, path)
    return image_labels(mask, num_categories)


def link_image(src: str, dst: str) -> None:
    if osp.islink(dst):
        if os.readlink(dst) == src:
            return
        os.remove(dst)  # a link of ours to another source (fingerprinted folder)
    elif osp.exists(dst):
        raise FileExistsError(f'{dst!r} exists and is not a link this converter made')
    os.symlink(src, dst)


def convert_split(coco_root: str, out: str, split: str, image_list: str, crowd: str, order: str,
                  workers: int = 0) -> Dict[str, int]:
    """Convert one split; returns the counts it printed."""
    data = load_split(coco_root, split)
    category_index = category_index_map(data['categories'])
    num_categories = len(category_index)
    if num_categories != 80:
        print(f'note: {data["path"]} has {num_categories} categories; '
              'configs/_base_/datasets/coco2014.py expects the 80 of COCO 2014')
    by_image: Dict[int, List[dict]] = {}
    for ann in data['annotations']:
        by_image.setdefault(int(ann['image_id']), []).append(ann)
    images = data['images']
    unknown = set(by_image) - {int(im['id']) for im in images}
    if unknown:
        raise ValueError(f'{data["path"]}: annotations of image ids not in "images": '
                         f'{sorted(unknown)[:5]}')
    annotated = [im for im in images if int(im['id']) in by_image]
    listed = images if image_list == 'all' else annotated
    img_dir = osp.join(coco_root, f'{split}2014')
    sources = []
    for im in listed:
        src = osp.realpath(osp.join(img_dir, im['file_name']))
        if not osp.isfile(src):
            raise FileNotFoundError(f'image {src!r} of image id {im["id"]} ({data["path"]}) '
                                    'does not exist')
        sources.append(src)
    names = [image_name(im) for im in listed]
    if len(set(names)) != len(names):
        raise ValueError(f'{data["path"]}: an image id occurs twice in "images"')
    print(f'{split}2014: {len(images)} images in {osp.basename(data["path"])}, '
          f'{len(annotated)} with at least one annotation; --image-list {image_list}: writing '
          f'{len(listed)} ('
          + ('every image id, as hfpl' if image_list == 'all' else
             'the annotated images, as coco2voc / ToCo / CoSA') + ')', flush=True)
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    for name, src in zip(names, sources):
        link_image(src, osp.join(out, 'JPEGImages', name + '.jpg'))
    tasks = [(name, int(im['height']), int(im['width']), by_image.get(int(im['id']), []), out,
              category_index, crowd, order, num_categories) for name, im in zip(names, listed)]
    if workers > 0:
        with Pool(workers) as pool:
            labels = pool.map(_convert_one, tasks, chunksize=64)
    else:
        labels = [_convert_one(t) for t in tasks]
    label_file = osp.join(out, 'cls_labels.npy')
    all_labels = np.load(label_file, allow_pickle=True).item() if osp.isfile(label_file) else {}
    all_labels.update(zip(names, labels))
    np.save(label_file, all_labels)
    with open(osp.join(out, 'ImageSets', 'Segmentation', f'{split}.txt'), 'w') as f:
        f.write('\n'.join(names) + '\n')
    unlabelled = sum(1 for v in labels if not v.any())
    print(f'{split}2014: wrote {len(names)} masks, ImageSets/Segmentation/{split}.txt and their '
          f'labels in cls_labels.npy ({unlabelled} of them without a foreground class)',
          flush=True)
    return dict(images=len(images), annotated=len(annotated), listed=len(listed),
                unlabelled=unlabelled)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, int]]:
    args = parse_args(argv)
    sources = [osp.join(args.coco_root, 'annotations')] + [
        osp.join(args.coco_root, f'{s}2014') for s in args.splits] + [args.coco_root]
    check_output_location(args.out, sources)
    settings = dict(kind='coco2014_converter', crowd=args.crowd, order=args.order,
                    converter=CONVERTER_VERSION)
    check_previous_outputs(args.out, settings, args.overwrite)
    write_fingerprints({osp.join(args.out, 'SegmentationClass'): settings})
    return {split: convert_split(args.coco_root, args.out, split, args.image_list, args.crowd,
                                 args.order, args.workers) for split in args.splits}


if __name__ == '__main__':
    skip_exit_collection()
    main()
