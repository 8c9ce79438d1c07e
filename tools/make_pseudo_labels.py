"""Generate CAM pseudo-labels for a trained WSSS model and score them (J, F, J&F).

    python tools/make_pseudo_labels.py CONFIG CHECKPOINT [--out DIR] [--split train]
        [--score-split val] [--scales 0.5 1 1.5 2] [--no-flip] [--cam-norm min_max]
        [--bg-threshold 0.25 | --bg-search 0.20 0.22 ... | --threshold adaptive]
        [--crf 4 24] [--label-crf] [--affinity-labels]
        [--ir-labels 0.30 0.05] [--ppmg] [--workers N] [--curve] [--overwrite]
        [--cfg-options k=v ...]

Labels the images of ``<split>_dataloader.dataset`` and scores the images of
``<score-split>_dataloader.dataset`` against its masks (labelling them too if needed); the VOC
configs score VOC ``train.txt`` (1,464 ``SegmentationClass`` masks, the paper's Table 1) while
labelling train_aug. Writes ``DIR/cams/*.npz``, ``DIR/cam/*.png`` (+ ``DIR/crf_a<alpha>/``,
``DIR/crf_label/``), ``DIR/ppmg/``, ``DIR/metrics.json`` (sweep-best J with its threshold, J at
the fixed threshold, F at 0.25, a GT-free threshold: see ``mmseg_hfpl/pseudo_labels/scoring.py``)
and, with ``--curve``, ``DIR/curve.csv`` + ``DIR/curve.png`` (F along the sweep too).
For a model with its own background map (SIPE) the background values are factors on that map.
``--bg-search`` picks the background of the ``cam`` (and ``crf_label``) labels among candidates,
the first with the best J on the scored images (official Spatial-BCE ``eval.py``);
``--threshold adaptive`` labels with a Spatial-BCE model's learned per-image thresholds instead
(default: the model's ``test_cfg.threshold``). ``--label-crf`` takes its kernels from
``pseudo_label_cfg.label_crf`` when that is a dict (Spatial-BCE: bilateral sxy 40).
A rerun skips finished images. An ``--out`` that is, contains or lies inside a directory of a
dataset of the config (data root, images, masks of every split) is refused, and so is an
existing directory of files this tool did not write, ``--overwrite`` or not; ``--overwrite``
with another checkpoint or other CAM settings removes every output of the old CAMs first
(``metrics.json`` keeps the scores of the outputs kept). Options not given on the command line
come from the config's ``pseudo_label_cfg`` (e.g. SEAM's CRF alphas) if it has one. With
``--launcher pytorch`` (tools/dist_*.sh style) the images are split across processes.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import barrier, get_dist_info, init_dist
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.engine import (destroy_process_group, init_cpu_process_group,
                               load_checkpoint_checked)
from mmseg_hfpl.engine.cfg_options import merge_cfg_options
from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.pseudo_labels import PseudoLabelGenerator, check_output_dir, dataset_items
from mmseg_hfpl.pseudo_labels.scoring import score_summary
from mmseg_hfpl.pseudo_labels.config import label_crf_settings, threshold_settings


def parse_args():
    parser = argparse.ArgumentParser(description='Generate and score CAM pseudo-labels')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', help='output directory (default: <work_dir>/pseudo_labels)')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader\'s dataset of the config to label')
    parser.add_argument('--score-split', choices=['train', 'val', 'test', 'none'],
                        help="which dataloader's dataset to score (default: the config's "
                        'pseudo_label_cfg.score_split, else --split; none: do not score)')
    # unset options fall back to the config's pseudo_label_cfg, then to the defaults below
    parser.add_argument('--scales', type=float, nargs='+',
                        help='inference scales (default 0.5 1.0 1.5 2.0)')
    parser.add_argument('--no-flip', action='store_true', default=None)
    parser.add_argument('--cam-norm', choices=['max', 'min_max'],
                        help="normalisation of the summed CAMs (default 'max'; SEAM, hfpl, PMM "
                        "configs: 'min_max' as their official inference)")
    parser.add_argument('--bg-threshold', type=float,
                        help='background score of the cam labels (default: the model test_cfg)')
    parser.add_argument('--bg-search', type=float, nargs='*', metavar='T',
                        help='choose the background of the cam labels among these, the first '
                        'with the best J on the scored images (Spatial-BCE: 0.20 0.22 ... 0.38); '
                        'no value: off')
    parser.add_argument('--threshold', choices=['fixed', 'adaptive'],
                        help="'adaptive': label with the model's learned per-image thresholds "
                        "(Spatial-BCE; default: the model's test_cfg.threshold, else fixed)")
    parser.add_argument('--crf', type=float, nargs='*', metavar='ALPHA',
                        help='SEAM/PSA-style CRF on (1 - max)^alpha for each alpha')
    parser.add_argument('--label-crf', action='store_true', default=None,
                        help='IRN/SIPE-style label CRF (kernels: pseudo_label_cfg.label_crf '
                        'when it is a dict, else IRN\'s)')
    parser.add_argument('--affinity-labels', action='store_true', default=None,
                        help='also write AffinityNet training labels from the lowest and highest '
                        '--crf alpha: aff_crf/ (the CRF marginals AffinityNet trains on, '
                        'pseudo_label_dir=OUT/aff_crf) and aff_label/ (the same at full size, '
                        'to look at)')
    parser.add_argument('--ir-labels', type=float, nargs=2, metavar=('FG', 'BG'),
                        help='also write IRN relation labels (ir_label/) with these CAM '
                        'thresholds (IRN: 0.30 0.05)')
    parser.add_argument('--ppmg', action='store_true', default=None,
                        help="also write PMM's proportional pseudo-masks (ppmg/); options such "
                        'as alpha come from pseudo_label_cfg.ppmg')
    parser.add_argument('--workers', type=int, default=0, help='processes for the CRF stage')
    parser.add_argument('--curve', action='store_true',
                        help='sweep the background threshold (0.00-0.59; factors 0.1-2.0 on a '
                        "model's own background map) over the saved CAMs")
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load the checkpoint keys that fit the model (default: refuse a '
                        'checkpoint whose keys differ)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


LOG_FILE = 'make_pseudo_labels.log'
# pseudo_label_cfg key -> command-line option (``flip`` is stored negated as ``no_flip``)
PSEUDO_LABEL_KEYS = dict(scales='scales', flip='no_flip', bg_threshold='bg_threshold',
                         bg_search='bg_search', threshold='threshold',
                         crf_alphas='crf', label_crf='label_crf',
                         affinity_labels='affinity_labels', ir_labels='ir_labels', ppmg='ppmg',
                         cam_norm='cam_norm', score_split='score_split')
DEFAULTS = dict(scales=[0.5, 1.0, 1.5, 2.0], no_flip=False, crf=[], label_crf=False,
                affinity_labels=False, ppmg=False, cam_norm='max')


def apply_config_defaults(args, cfg) -> None:
    """Fill the options not given on the command line from ``cfg.pseudo_label_cfg`` (the
    method's own settings, e.g. SEAM's CRF alphas), then from ``DEFAULTS``."""
    plcfg = dict(cfg.get('pseudo_label_cfg') or {})
    unknown = set(plcfg) - set(PSEUDO_LABEL_KEYS)
    if unknown:
        raise KeyError(f'{args.config}: unknown pseudo_label_cfg keys {sorted(unknown)}; '
                       f'known: {sorted(PSEUDO_LABEL_KEYS)}')
    for key, value in plcfg.items():
        dest = PSEUDO_LABEL_KEYS[key]
        if getattr(args, dest) is None:
            value = not value if key == 'flip' else value
            setattr(args, dest, list(value) if isinstance(value, (list, tuple)) else value)
    for dest, value in DEFAULTS.items():
        if getattr(args, dest) is None:
            setattr(args, dest, value)


def label_crf_options(args, cfg):
    """The label CRF of ``--label-crf`` / ``pseudo_label_cfg.label_crf`` (a dict: its kernels,
    and on): :func:`~mmseg_hfpl.pseudo_labels.config.label_crf_settings`."""
    return label_crf_settings((cfg.get('pseudo_label_cfg') or {}).get('label_crf'),
                              bool(args.label_crf), args.config)


def background_options(args, cfg, cli: set):
    """(threshold mode, bg_search or None): :func:`~mmseg_hfpl.pseudo_labels.config.
    threshold_settings`, ``cli`` naming the options given on the command line."""
    return threshold_settings(cfg, args.threshold, args.bg_search, 'bg_search' in cli,
                              'bg_threshold' in cli)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    cli = {k for k in ('bg_search', 'bg_threshold') if getattr(args, k) is not None}
    apply_config_defaults(args, cfg)
    label_crf = label_crf_options(args, cfg)
    threshold, bg_search = background_options(args, cfg, cli)
    if args.launcher != 'none' and not init_cpu_process_group(args.launcher):
        init_dist(args.launcher)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    out = args.out or osp.join(cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0]), 'pseudo_labels')
    # never into a dataset, never over files of others, whatever --overwrite says
    check_output_dir(out, cfg, args.overwrite, marker_dirs=('cams', ),
                     own_files=(LOG_FILE, ))
    barrier()  # every rank checked before any writes
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    items = dataset_items(dataset)
    score_split = args.score_split or args.split
    score_items, score_set = None, None
    if score_split != 'none':
        score_cfg = cfg[f'{score_split}_dataloader'].dataset
        score_items = items if score_split == args.split else dataset_items(
            DATASETS.build(score_cfg))
        score_set = describe_dataset(score_split, score_cfg)
    model = MODELS.build(cfg.model)
    bg = args.bg_threshold if args.bg_threshold is not None else model.bg_threshold
    generator = PseudoLabelGenerator(
        model, out, num_classes=len(dataset.metainfo['classes']),
        palette=dataset.metainfo.get('palette'), scales=args.scales, flip=not args.no_flip,
        normalisation=args.cam_norm, bg_threshold=bg, bg_search=bg_search,
        threshold=threshold, crf_alphas=args.crf, label_crf=label_crf,
        overwrite=args.overwrite,
        affinity_labels=args.affinity_labels,
        ir_labels=dict(fg_threshold=args.ir_labels[0], bg_threshold=args.ir_labels[1])
        if args.ir_labels else None,
        ppmg=(dict(args.ppmg) if isinstance(args.ppmg, dict) else {}) if args.ppmg else None,
        workers=args.workers)
    generator.check_outputs(items + (score_items or []))  # before anything is written
    os.makedirs(out, exist_ok=True)
    MMLogger.get_instance('mmseg_hfpl', log_file=osp.join(out, LOG_FILE), file_mode='a')
    load_checkpoint_checked(model, args.checkpoint, allow_partial=args.allow_partial)
    model.to(args.device).eval()
    metrics = generator.run(items, curve=args.curve, score_set=score_set,
                            score_items=[] if score_split == 'none' else score_items)
    rank = get_dist_info()[0]
    destroy_process_group()
    if rank != 0:
        return
    for line in score_summary(metrics):
        print(line)


def describe_dataset(split: str, dataset_cfg) -> str:
    """``val_dataloader (ImageSets/Segmentation/train.txt, masks SegmentationClass)``."""
    masks = (dataset_cfg.get('data_prefix') or {}).get('seg_map_path')
    parts = [dataset_cfg['ann_file']] if dataset_cfg.get('ann_file') else []
    parts += [f'masks {masks}'] if masks else []
    return f'{split}_dataloader' + (f' ({", ".join(parts)})' if parts else '')


if __name__ == '__main__':
    skip_exit_collection()
    main()
