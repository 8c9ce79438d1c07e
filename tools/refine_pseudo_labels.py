"""Refine CAM pseudo-labels by a random walk on a trained affinity network (AffinityNet or
IRN).

    python tools/refine_pseudo_labels.py AFF_CONFIG AFF_CHECKPOINT --cams DIR/cams --out DIR/aff
        [--beta 8] [--logt 6] [--bg-alpha 6 | --bg-threshold 0.25] [--cam-power 1]
        [--split test] [--overwrite]

``--cams`` is the ``cams/`` directory written by tools/make_pseudo_labels.py. The images come
from ``<split>_dataloader.dataset`` of the config; J, F and J&F are printed (and written to
``OUT/metrics.json``) when it has ground-truth masks. Defaults: SEAM / hfpl with AffinityNet
(beta 8, logt 6, background seed alpha 6); IRN uses ``--beta 10 --logt 8 --bg-threshold 0.25``;
SIPE, whose CAMs carry its own background map, ``--beta 10 --logt 8 --cam-power 1.5``.
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmseg.registry import DATASETS, MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.pseudo_labels import check_output_dirs, dataset_items, score_label_files
from mmseg_hfpl.pseudo_labels.refine import refine_items


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--cams', required=True, help='directory of CAM .npz files')
    parser.add_argument('--out', required=True)
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'])
    parser.add_argument('--beta', type=float, default=8.0)
    parser.add_argument('--logt', type=int, default=6)
    parser.add_argument('--bg-alpha', type=float, default=6.0,
                        help='background seed (1 - max)^alpha walked with the classes (PSA)')
    parser.add_argument('--bg-threshold', type=float,
                        help='walk the classes only and threshold the background (IRN)')
    parser.add_argument('--cam-power', type=float, default=1.0,
                        help='raise the CAMs to this power before the walk (SIPE: 1.5)')
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    items = dataset_items(dataset)
    check_output_dirs([args.out], {osp.dirname(p) for it in items
                                   for p in (it['img_path'], it.get('seg_map_path')) if p})
    os.makedirs(args.out, exist_ok=True)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device)
    paths = refine_items(model, items, args.cams, args.out, dataset.metainfo.get('palette'),
                         overwrite=args.overwrite, beta=args.beta, logt=args.logt,
                         bg_alpha=args.bg_alpha, bg_threshold=args.bg_threshold,
                         cam_power=args.cam_power)
    if all(it.get('seg_map_path') for it in items):
        res = score_label_files(paths, [it['seg_map_path'] for it in items],
                                len(dataset.metainfo['classes']))
        with open(osp.join(args.out, 'metrics.json'), 'w') as f:
            json.dump(res, f, indent=1)
        print(f'random walk  J {res["J"]:.2f}  F {res["F"]:.2f}  J&F {res["J&F"]:.2f}')


if __name__ == '__main__':
    main()
