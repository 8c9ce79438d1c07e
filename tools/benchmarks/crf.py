"""Benchmark: throughput of the CRF stage of tools/make_pseudo_labels.py with 1 and 2 workers.

Generates CAMs once with a (randomly initialised) demo model, then times the label stage
(``cam`` labels + SEAM-style CRF at two alphas + IRN-style label CRF) over the same images with
``--workers 1`` and ``--workers 2`` side by side, from scratch each time.

    .venv/bin/python tools/benchmarks/crf.py [--images 60] [--size 128]
"""
import argparse
import os
import shutil
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.utils import track_parallel_progress
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.datasets import make_synthetic_voc
from mmseg_hfpl.pseudo_labels import PseudoLabelGenerator, dataset_items
from mmseg_hfpl.pseudo_labels.generator import write_pseudo_labels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--images', type=int, default=60)
    parser.add_argument('--size', type=int, default=128)
    args = parser.parse_args()
    init_default_scope('mmseg')
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, 'data')
    make_synthetic_voc(data, num_train=args.images, num_val=1, height=args.size,
                       width=args.size, seed=1)
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'hfpl', 'demo_synthetic.py'))
    cfg.test_dataloader.dataset.data_root = data
    items = dataset_items(DATASETS.build(cfg.test_dataloader.dataset))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    kwargs = dict(num_classes=6, scales=(1.0, ), flip=False, crf_alphas=(1, 24),
                  label_crf=dict(gt_prob=0.7))
    base = os.path.join(tmp, 'base')
    PseudoLabelGenerator(model, base, **kwargs).run(items)  # CAMs (and a warm-up)
    print(f'{len(items)} images of {args.size}x{args.size}, labels: cam + CRF alpha 1, 24 + '
          'label CRF')
    rates = {}
    for workers in (1, 2):
        out = os.path.join(tmp, f'w{workers}')
        shutil.copytree(os.path.join(base, 'cams'), os.path.join(out, 'cams'))
        tasks = [(it, PseudoLabelGenerator(model, out, **kwargs).label_cfg()) for it in items]
        start = time.perf_counter()
        track_parallel_progress(write_pseudo_labels, tasks, workers)
        rates[workers] = len(items) / (time.perf_counter() - start)
    for workers, rate in rates.items():
        print(f'workers {workers}: {rate:.1f} images/s')
    print(f'speed-up with 2 workers: {rates[2] / rates[1]:.2f}x')
    shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
