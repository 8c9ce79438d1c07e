"""Refine CAM pseudo-labels by a random walk on a trained affinity network (AffinityNet or
IRN).

    .venv/bin/python tools/refine_pseudo_labels.py AFF_CONFIG AFF_CHECKPOINT --cams DIR/cams \
        --out DIR/aff [--beta 8] [--logt 6] [--bg-alpha 6 | --bg-threshold 0.25 | --bg-seed 0.39]
        [--cam-power 1] [--seed-resize avg_pool|bilinear] [--split train] [--score-split test]
        [--workers N] [--overwrite]

``--cams`` is the ``cams/`` directory written by tools/make_pseudo_labels.py. The images to
refine come from ``<split>_dataloader.dataset`` of the config (default ``train``, as
make_pseudo_labels.py); J, F and J&F of the images of ``<score-split>_dataloader.dataset``
(default: the config's ``pseudo_label_cfg.score_split``, the real masks of ``test_dataloader``
for the AffinityNet / IRN configs, else ``--split``) are printed and written to
``OUT/metrics.json``. The output directory carries a fingerprint of the model, the CAMs and the
walk settings: a rerun with other settings refuses (``--overwrite`` redoes). An ``--out`` that
is, contains or lies inside a directory of a dataset of the config (data root, images, masks of
every split, ``pseudo_label_dir``) or ``--cams`` is refused, and so is an existing directory of
files this project did not write, ``--overwrite`` or not. Defaults: SEAM /
hfpl with AffinityNet (beta 8, logt 6, background seed alpha 6); IRN uses ``--beta 10 --logt 8
--bg-threshold 0.25``; MCTformer (its ``psa/infer_aff.py``) ``--bg-seed 0.39``; SIPE, whose CAMs
carry its own background map, ``--beta 10 --logt 8 --cam-power 1.5 --seed-resize bilinear``
(its ``make_seg_labels.py`` resizes the CAMs bilinearly to the walk's grid; the default
average-pools them, as PSA's ``infer_aff.py``).
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.engine import load_checkpoint_checked
from mmseg_hfpl.engine.cfg_options import merge_cfg_options
from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.pseudo_labels import (check_output_dir, check_output_dirs, dataset_items,
                                      image_name, score_label_files)
from mmseg_hfpl.pseudo_labels.config import resolve_pseudo_label_dir, without_masks
from mmseg_hfpl.pseudo_labels.fingerprint import (check_fingerprints, model_fingerprint,
                                                  read_fingerprint, write_fingerprints)
from mmseg_hfpl.pseudo_labels.refine import SEED_RESIZES, refine_items


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--cams', required=True, help='directory of CAM .npz files')
    parser.add_argument('--out', required=True)
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'],
                        help="which dataloader's dataset to refine")
    parser.add_argument('--score-split', choices=['train', 'val', 'test', 'none'],
                        help="which dataloader's dataset to score (default: the config's "
                        'pseudo_label_cfg.score_split, else --split)')
    parser.add_argument('--beta', type=float, default=8.0)
    parser.add_argument('--logt', type=int, default=6)
    parser.add_argument('--bg-alpha', type=float, default=6.0,
                        help='background seed (1 - max)^alpha walked with the classes (PSA)')
    parser.add_argument('--bg-threshold', type=float,
                        help='walk the classes only and threshold the background (IRN)')
    parser.add_argument('--bg-seed', type=float,
                        help='walk this constant background seed with the classes '
                        "(MCTformer's psa/infer_aff.py: 0.39)")
    parser.add_argument('--cam-power', type=float, default=1.0,
                        help='raise the CAMs to this power before the walk (SIPE: 1.5)')
    parser.add_argument('--seed-resize', choices=SEED_RESIZES, default='avg_pool',
                        help="how the CAMs reach the walk's grid: average pooling (PSA, "
                        'default) or a bilinear resize, the power after it (SIPE)')
    parser.add_argument('--workers', type=int, default=0,
                        help='worker processes of one thread each (0: in this process)')
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load the checkpoint keys that fit the model (default: refuse a '
                        'checkpoint whose keys differ)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    # the training labels (not read here): guarded as the datasets
    resolve_pseudo_label_dir(cfg, check_cams=False)
    # never into a dataset or the CAMs, never over files of others, whatever --overwrite says
    check_output_dir(args.out, cfg, args.overwrite, inputs=[args.cams])
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    # the images of the split; its masks (pseudo-labels of a training split) are not needed
    dataset = DATASETS.build(without_masks(cfg[f'{args.split}_dataloader'].dataset))
    items = dataset_items(dataset)
    score_split = args.score_split or (cfg.get('pseudo_label_cfg') or {}).get(
        'score_split') or args.split
    score_items = []
    if score_split != 'none':
        score_items = items if score_split == args.split else dataset_items(
            DATASETS.build(cfg[f'{score_split}_dataloader'].dataset))
    names = {image_name(it) for it in items}
    items += [it for it in score_items if image_name(it) not in names]
    print(f'refining {len(items)} images of {args.split}_dataloader'
          + (f' (+ the scored images of {score_split}_dataloader)'
             if score_split not in ('none', args.split) else ''), flush=True)
    check_output_dirs([args.out], {osp.dirname(p) for it in items
                                   for p in (it['img_path'], it.get('seg_map_path')) if p})
    os.makedirs(args.out, exist_ok=True)
    model = MODELS.build(cfg.model)
    load_checkpoint_checked(model, args.checkpoint, allow_partial=args.allow_partial)
    model.to(args.device)
    # what makes the refined labels: a rerun with other settings refuses to mix them in
    fingerprint = {args.out: dict(
        kind='random_walk', model=model_fingerprint(model), cams=read_fingerprint(args.cams),
        beta=args.beta, logt=args.logt, bg_alpha=args.bg_alpha, bg_threshold=args.bg_threshold,
        cam_power=args.cam_power, bg_seed=args.bg_seed,
        # only when not the default, so outputs of the average-pooled walk keep their fingerprint
        **({} if args.seed_resize == 'avg_pool' else dict(seed_resize=args.seed_resize)))}
    check_fingerprints(fingerprint, args.overwrite)
    write_fingerprints(fingerprint)
    paths = refine_items(model, items, args.cams, args.out, dataset.metainfo.get('palette'),
                         overwrite=args.overwrite, workers=args.workers, beta=args.beta,
                         logt=args.logt, bg_alpha=args.bg_alpha, bg_threshold=args.bg_threshold,
                         cam_power=args.cam_power, bg_seed=args.bg_seed,
                         seed_resize=args.seed_resize)
    if score_items and all(it.get('seg_map_path') for it in score_items):
        by_name = dict(zip((image_name(it) for it in items), paths))
        res = score_label_files([by_name[image_name(it)] for it in score_items],
                                [it['seg_map_path'] for it in score_items],
                                len(dataset.metainfo['classes']), workers=args.workers)
        res = dict(scored_on=dict(set=f'{score_split}_dataloader', images=len(score_items)),
                   random_walk=dict(res, how='random-walk labels (argmax)'))
        with open(osp.join(args.out, 'metrics.json'), 'w') as f:
            json.dump(res, f, indent=1)
        print(f'scored {len(score_items)} images of {score_split}_dataloader')
        rw = res['random_walk']
        print(f'random walk  J {rw["J"]:.2f}  F {rw["F"]:.2f}  J&F {rw["J&F"]:.2f}')


if __name__ == '__main__':
    skip_exit_collection()
    main()
