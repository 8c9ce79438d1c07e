"""Benchmark: boundary F match counts (``boundary_f_matches``) vs the official formulation.

The reference is ``contour_fscore.py`` re-derived in ``mmseg_hfpl/evaluation/reference.py``:
per class, ``seg2bmap`` of both masks and two ``scipy.ndimage.binary_dilation`` with a disk, for
every class as the official main() loops. Both run in this process on the same random VOC-sized
label maps (objects as ellipses of random classes on background, a 5-pixel void band around the
ground-truth objects as in VOC, predictions with jittered shapes and some wrong classes); the
match counts must be identical for every image and class (exit status 1 otherwise). Then the
dataset-scale path (``boundary_f_counts_parallel``: F counts and J areas per image, in this
process and in ``--workers`` worker processes) is timed over the same images.

    .venv/bin/python tools/benchmarks/boundary_f.py            # 200 images, 21 classes
"""
import argparse
import sys
import time

import cv2
import numpy as np
from machine import machine_line


def random_pair(rng: np.random.Generator, num_classes: int):
    """One (pred, gt) pair of VOC-like label maps, 375x500 or 500x375."""
    shape = (375, 500) if rng.random() < 0.7 else (500, 375)
    gt = np.zeros(shape, np.uint8)
    pred = np.zeros(shape, np.uint8)
    for _ in range(rng.integers(1, 6)):
        cls = int(rng.integers(1, num_classes))
        centre = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        axes = (int(rng.integers(15, 160)), int(rng.integers(15, 160)))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(gt, centre, axes, angle, 0, 360, cls, -1)
        jitter = rng.normal(0, 6, 4)
        p_cls = cls if rng.random() < 0.8 else int(rng.integers(1, num_classes))
        cv2.ellipse(pred, (centre[0] + int(jitter[0]), centre[1] + int(jitter[1])),
                    (max(1, axes[0] + int(jitter[2])), max(1, axes[1] + int(jitter[3]))),
                    angle + float(rng.normal(0, 5)), 0, 360, p_cls, -1)
    # VOC's void band: 5 px around the object boundaries
    edges = cv2.morphologyEx(gt, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    band = cv2.dilate(edges.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    gt[band] = 255
    return pred, gt  # uint8, as read from VOC's PNGs


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--images', type=int, default=200)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    from mmseg_hfpl.evaluation.dataset_scores import boundary_f_counts_parallel
    from mmseg_hfpl.evaluation.functional import boundary_f_matches
    from mmseg_hfpl.evaluation.reference import ref_image_counts

    rng = np.random.default_rng(args.seed)
    pairs = [random_pair(rng, args.classes) for _ in range(args.images)]
    # the metric's convention: void ground truth counts as background for the boundaries
    pairs = [(p, np.where(g == 255, 0, g).astype(np.uint8)) for p, g in pairs]
    print(f'{machine_line()}; {args.images} random VOC-sized label '
          f'maps (375x500 / 500x375), {args.classes} classes, tolerance ceil(0.008 * diagonal)')
    boundary_f_matches(*pairs[0], args.classes)  # warm-up
    t_ref = t_ours = 0.0
    mismatched = 0
    total = np.zeros((args.classes, 4), np.int64)
    for pred, gt in pairs:
        start = time.perf_counter()
        ours = boundary_f_matches(pred, gt, args.classes)
        t_ours += time.perf_counter() - start
        start = time.perf_counter()
        ref = ref_image_counts(pred, gt, args.classes)
        t_ref += time.perf_counter() - start
        mismatched += int((ours != ref).any())
        total += ours
    n = len(pairs)
    header = f'{"implementation":<40} {"ms / image":>10} {"speed-up":>9}'
    print(header)
    print('-' * len(header))
    print(f'{"reference (official, scipy dilation)":<40} {t_ref / n * 1e3:>10.1f} {"1.0x":>9}')
    print(f'{"boundary_f_matches (bit planes)":<40} {t_ours / n * 1e3:>10.1f} '
          f'{t_ref / t_ours:>8.1f}x')
    preds, gts = [p for p, _ in pairs], [g for _, g in pairs]
    for workers in (0, args.workers):
        start = time.perf_counter()
        counts = boundary_f_counts_parallel(preds, gts, args.classes, workers=workers)
        t_par = time.perf_counter() - start
        label = f'image_counts (F + J areas), {workers or 1} proc.'
        print(f'{label:<40} {t_par / n * 1e3:>10.1f} {t_ref / t_par:>8.1f}x  (wall time per '
              f'image{", incl. process start" if workers else ""})')
    same_parallel = all((c[0] == boundary_f_matches(p, g, args.classes)).all()
                        for c, (p, g) in zip(counts, pairs))
    print(f'match counts identical to the reference: {n - mismatched}/{n} images '
          f'({int(total[:, 2].sum())} prediction and {int(total[:, 3].sum())} ground-truth '
          f'boundary pixels); worker results identical: {same_parallel}')
    if mismatched or not same_parallel:
        sys.exit(1)


if __name__ == '__main__':
    main()
