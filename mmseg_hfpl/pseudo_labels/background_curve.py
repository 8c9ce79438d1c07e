"""J and F of thresholded CAMs for a sweep of background scores, in one pass over saved CAMs
(SEAM's ``--curve``), with a table and a plot."""
import csv
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

from ..datasets.checks import read_mask
from ..evaluation.functional import boundary_f_matches, boundary_f_score
from .cam_inference import load_cams, split_background

DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.0, 0.60, 0.01), 2))
# factors on a model's own background map (SIPE), swept instead of the thresholds
DEFAULT_BACKGROUND_FACTORS = tuple(np.round(np.arange(0.1, 2.01, 0.05), 2))


def _image_counts(task):
    """Per-threshold (intersection, union, boundary counts) of one image."""
    cam_path, gt_path, num_classes, thresholds, with_f, ignore_index = task
    bg_map, cams, classes = split_background(*load_cams(cam_path))
    gt = read_mask(gt_path, num_classes, cams.shape[1:]).astype(np.int64)
    if len(classes):
        peak = cams.max(axis=0)
        top = classes[cams.argmax(axis=0)]
    else:
        peak = np.zeros(gt.shape, np.float32)
        top = np.zeros(gt.shape, np.int64)
    valid = gt != ignore_index
    gt_f = np.where(valid, gt, 0)
    inter = np.zeros((len(thresholds), num_classes), np.int64)
    union = np.zeros_like(inter)
    bcounts = np.zeros((len(thresholds), num_classes, 4), np.int64)
    for t, thr in enumerate(thresholds):
        bg = thr if bg_map is None else thr * bg_map  # see scores_with_background
        pred = np.where(peak > bg, top, 0)  # argmax over [background, CAMs], ties to it
        p, g = pred[valid], gt[valid]
        area_i = np.bincount(p[p == g], minlength=num_classes)[:num_classes]
        area_p = np.bincount(p, minlength=num_classes)[:num_classes]
        area_g = np.bincount(g, minlength=num_classes)[:num_classes]
        inter[t] = area_i
        union[t] = area_p + area_g - area_i
        if with_f:
            bcounts[t] = boundary_f_matches(pred, gt_f, num_classes)
    return inter, union, bcounts


def background_curve(cam_paths: Sequence[str],
                     gt_paths: Sequence[str],
                     num_classes: int,
                     thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
                     with_f: bool = True,
                     workers: int = 0,
                     ignore_index: int = 255) -> List[Dict[str, float]]:
    """Rows ``{'threshold', 'J', 'F', 'J&F'}`` (percent) over the sweep; F is NaN without
    ``with_f``. J is the mIoU over all classes, F the boundary F over the foreground classes."""
    tasks = [(c, g, num_classes, tuple(thresholds), with_f, ignore_index)
             for c, g in zip(cam_paths, gt_paths)]
    results = track_parallel_progress(_image_counts, tasks, workers) if workers > 0 \
        else track_progress(_image_counts, tasks)
    inter = sum(r[0] for r in results)
    union = sum(r[1] for r in results)
    bcounts = sum(r[2] for r in results)
    rows = []
    for t, thr in enumerate(thresholds):
        with np.errstate(invalid='ignore', divide='ignore'):
            j = float(np.nanmean(inter[t] / union[t])) * 100
        f = float(np.mean(boundary_f_score(bcounts[t])[1:])) * 100 if with_f else float('nan')
        rows.append({'threshold': float(thr), 'J': j, 'F': f, 'J&F': (j + f) / 2})
    return rows


def best_threshold(rows: List[Dict[str, float]], key: str = 'J') -> Dict[str, float]:
    return max(rows, key=lambda r: r[key])


def write_curve(rows: List[Dict[str, float]], out_prefix: str) -> None:
    """``<prefix>.csv`` (the sweep) and ``<prefix>.png`` (J, F, J&F against the threshold)."""
    with open(out_prefix + '.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=['threshold', 'J', 'F', 'J&F'])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: f'{v:.4f}' for k, v in r.items()})
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    thr = [r['threshold'] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ('J', 'F', 'J&F'):
        ax.plot(thr, [r[key] for r in rows], label=key)
    best = best_threshold(rows)
    ax.axvline(best['threshold'], color='grey', ls='--',
               label=f'best J at {best["threshold"]:.2f} ({best["J"]:.1f})')
    ax.set_xlabel('background threshold')
    ax.set_ylabel('%')
    ax.set_title(f'CAM pseudo-labels: {osp.basename(osp.dirname(out_prefix)) or "curve"}')
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_prefix + '.png', dpi=120)
    plt.close(fig)
