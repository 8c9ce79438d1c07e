"""Check a prepared dataset against what a config reads, and print everything that is wrong.

    python tools/check_dataset.py CONFIG [--data-root DIR] [--counts train=1464 aug=9118 ...]
        [--workers N]

The splits checked are those of the config's train / val / test dataloaders (the leaves of a
``ConcatDataset``), and on VOC also ``ImageSets/Segmentation/val.txt`` (the stage-3 configs'
test split). For every split: its split file lists no name twice and as many images as expected;
every listed image exists and decodes; its mask (when the split has masks) exists, is a
single-channel map of the image's size with values in 0 .. num_classes - 1 or 255; its
image-level label (``cls_label_file``) exists and names exactly the foreground classes of the
mask. A ``ConcatDataset`` must not list an image twice.

Expected counts: ``--counts NAME=N`` per split file name (``train``, ``aug``, ``val``) or
dataloader (``train_dataloader``: the total of its splits); without it, on VOC (the 21 VOC
classes) those of VOC 2012 + SBD: train 1,464, aug 9,118 (train + aug = 10,582), val 1,449.

Exit status 0 when nothing is wrong, 1 otherwise (each problem on its own line).
"""
import argparse
import os.path as osp
import sys
from multiprocessing import Pool

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

VOC_COUNTS = dict(train=1464, aug=9118, val=1449, train_dataloader=10582)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def leaves(dataset: dict) -> list:
    """The datasets inside ``ConcatDataset`` / ``RepeatDataset`` wrappers."""
    if 'datasets' in dataset:
        return [leaf for d in dataset['datasets'] for leaf in leaves(d)]
    if 'dataset' in dataset:
        return leaves(dataset['dataset'])
    return [dataset]


def split_spec(dataset: dict, data_root=None) -> dict:
    """What a VOC-layout dataset config reads: root, split file, image and mask directories,
    suffixes, label file and class count."""
    from mmseg_hfpl.datasets.wsss_voc_dataset import VOC_METAINFO
    root = data_root or dataset.get('data_root') or ''
    prefix = dataset.get('data_prefix') or {}

    def at_root(path):
        return path if not path or osp.isabs(path) else osp.join(root, path)

    classes = (dataset.get('metainfo') or {}).get('classes') or VOC_METAINFO['classes']
    return dict(ann_file=at_root(dataset.get('ann_file', '')),
                img_dir=at_root(prefix.get('img_path', '')),
                seg_dir=at_root(prefix.get('seg_map_path', '')),
                img_suffix=dataset.get('img_suffix', '.jpg'),
                seg_suffix=dataset.get('seg_map_suffix', '.png'),
                labels=at_root(dataset['cls_label_file']) if dataset.get('cls_label_file')
                else None,
                num_classes=len(classes), ignore_index=dataset.get('ignore_index', 255),
                voc=tuple(classes) == tuple(VOC_METAINFO['classes']))


def split_name(spec: dict) -> str:
    return osp.splitext(osp.basename(spec['ann_file']))[0]


def check_image(args) -> list:
    """The problems of one listed image (image, mask, label)."""
    from mmseg_hfpl.datasets.checks import read_image
    name, spec, label = args
    where = f'{split_name(spec)}: {name!r}:'
    problems = []
    img_path = osp.join(spec['img_dir'], name + spec['img_suffix'])
    shape = None
    try:
        shape = read_image(img_path).shape[:2]
    except (OSError, ValueError) as err:
        problems.append(f'{where} {err}')
    mask = None
    if spec['seg_dir']:
        from mmseg_hfpl.datasets.checks import read_mask
        seg_path = osp.join(spec['seg_dir'], name + spec['seg_suffix'])
        if not osp.isfile(seg_path):
            problems.append(f'{where} mask {seg_path!r} does not exist')
        else:
            try:
                mask = read_mask(seg_path, spec['num_classes'], shape, spec['ignore_index'])
            except (OSError, ValueError) as err:
                problems.append(f'{where} {err}')
    if spec['labels'] is not None:
        if label is None:
            problems.append(f"{where} no entry in {spec['labels']!r}")
        elif mask is not None:
            present = np.unique(mask)
            present = present[(present != 0) & (present != spec['ignore_index'])]
            expected = sorted(int(c) for c in present)
            given = sorted(int(i) + 1 for i in np.flatnonzero(label))
            if given != expected:
                problems.append(f"{where} image-level label {given} in {spec['labels']!r} but "
                                f'its mask holds classes {expected}')
    return problems


def check_split(spec: dict, expected, workers: int = 1) -> tuple:
    """(names, problems) of one split."""
    from mmseg_hfpl.datasets.checks import DataFileError, read_split
    from mmseg_hfpl.datasets.wsss_voc_dataset import load_image_labels
    name = split_name(spec)
    if not osp.isfile(spec['ann_file']):
        return [], [f"{name}: split file {spec['ann_file']!r} does not exist"]
    problems = []
    with open(spec['ann_file']) as f:
        text = f.read()
    try:
        names = read_split(spec['ann_file'], text)
    except DataFileError as err:
        problems.append(f'{name}: {err}')
        names = list(dict.fromkeys(n.strip() for n in text.splitlines() if n.strip()))
    if expected is not None and len(names) != expected:
        problems.append(f"{name}: {spec['ann_file']!r} lists {len(names)} images, expected "
                        f'{expected}')
    for key in ('img_dir', 'seg_dir'):
        if spec[key] and not osp.isdir(spec[key]):
            problems.append(f'{name}: directory {spec[key]!r} does not exist')
            return names, problems  # one line, not one per image
    labels = {}
    if spec['labels'] is not None:
        if not osp.isfile(spec['labels']):
            return names, problems + [f"{name}: label file {spec['labels']!r} does not exist"]
        try:
            labels = load_image_labels(spec['labels'], spec['num_classes'])
        except (OSError, ValueError) as err:
            return names, problems + [f'{name}: {err}']
    jobs = [(n, spec, labels.get(n)) for n in names]
    if workers > 1:
        with Pool(workers) as pool:
            results = pool.map(check_image, jobs, chunksize=32)
    else:
        results = map(check_image, jobs)
    for found in results:
        problems += found
    return names, problems


def parse_counts(items) -> dict:
    counts = {}
    for item in items or []:
        key, sep, value = item.partition('=')
        if not sep or not value.isdigit():
            raise SystemExit(f'--counts: {item!r} is not NAME=N')
        counts[key] = int(value)
    return counts


def check(cfg, data_root=None, counts=None, workers: int = 1) -> list:
    """Every problem of the dataset a config reads (an empty list when there is none)."""
    specs, owners = [], {}
    for loader in LOADERS:
        if loader not in cfg:
            continue
        for leaf in leaves(cfg[loader]['dataset']):
            spec = split_spec(leaf, data_root)
            if spec not in specs:
                specs.append(spec)
            owners.setdefault(loader, []).append(spec)
    if not specs:
        return ['the config has no train / val / test dataloader datasets']
    voc = all(s['voc'] for s in specs)
    if voc:  # VOC val: the stage-3 configs' test split
        train = [s for s in specs if s['ann_file'].endswith('Segmentation/train.txt')]
        base = (train or specs)[0]
        val = dict(base, ann_file=osp.join(osp.dirname(base['ann_file']), 'val.txt'))
        if not any(s['ann_file'] == val['ann_file'] for s in specs):
            specs.append(val)
    expected = dict(VOC_COUNTS if voc and counts is None else counts or {})
    problems, names = [], {}
    for spec in specs:
        found, wrong = check_split(spec, expected.get(split_name(spec)), workers)
        names[id(spec)] = found
        problems += wrong
        print(f"{split_name(spec)}: {len(found)} images ({spec['ann_file']}), "
              f'{len(wrong)} problem(s)', flush=True)
    for loader, members in owners.items():
        if len(members) < 2:
            continue
        seen, twice = set(), []
        total = 0
        for spec in members:
            listed = names[id(next(s for s in specs if s == spec))]
            total += len(listed)
            twice += [n for n in listed if n in seen]
            seen.update(listed)
        if twice:
            problems.append(f'{loader}: {len(twice)} image(s) in more than one of its splits '
                            f'(trained twice): {twice[:5]}')
        if loader in expected and total != expected[loader]:
            problems.append(f'{loader}: {total} images in its splits, expected '
                            f'{expected[loader]}')
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--data-root', help="the dataset directory (default: the config's)")
    parser.add_argument('--counts', nargs='+', metavar='NAME=N',
                        help='expected images per split file name / dataloader (default on '
                        'VOC: train=1464 aug=9118 val=1449 train_dataloader=10582)')
    parser.add_argument('--workers', type=int, default=1, help='processes reading the images')
    args = parser.parse_args(argv)
    from mmengine.config import Config
    cfg = Config.fromfile(args.config)
    counts = parse_counts(args.counts) if args.counts else None
    problems = check(cfg, args.data_root, counts, args.workers)
    for line in problems:
        print(f'ERROR {line}')
    print(f'{len(problems)} problem(s)' if problems else 'OK: the dataset is as the config '
          'expects')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
