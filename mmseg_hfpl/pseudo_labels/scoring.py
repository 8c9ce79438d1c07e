"""How CAM pseudo-labels are scored: the official protocol of SEAM / hfpl (``eval_cam_voc.py``
and ``contour_fscore.py``), and one background threshold chosen without ground truth.

- **sweep-best J** (``cam_sweep_best``): the best mIoU over the background scores 0.00-0.59
  (``eval_cam_voc.py --curve``), with the threshold that gave it; this is the number of the
  paper's Table 1 (its thresholds are tuned on the ground truth of the scored images);
- **F at 0.25** (``cam_F_bg0.25``): ``contour_fscore.py --is_cam --is_seam`` scores the CAMs with
  a fixed background of 0.25;
- **GT-free threshold** (``cam_otsu``): Otsu's threshold of the per-pixel peak CAM value
  ``max_c r_c`` pooled over all scored images (a histogram of the CAMs alone), then J / F there.

Models with their own background map (SIPE) are swept over factors on that map; the fixed 0.25
and Otsu thresholds do not apply to them.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.utils import track_parallel_progress

from .background_curve import (DEFAULT_BACKGROUND_FACTORS, DEFAULT_THRESHOLDS, background_curve,
                               best_threshold, write_curve)
from .cam_inference import load_cams, split_background

OFFICIAL_F_THRESHOLD = 0.25
HISTOGRAM_BINS = 1000


def peak_histogram(cam_path: str, bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Counts of the per-pixel peak CAM value ``max_c r_c`` of one image in ``bins`` equal bins
    over [0, 1] (values outside are clipped; an image without classes counts as all 0)."""
    _, cams, _ = split_background(*load_cams(cam_path))
    peak = cams.max(axis=0) if len(cams) else np.zeros(cams.shape[1:], np.float32)
    return np.histogram(np.clip(peak, 0.0, 1.0), bins=bins, range=(0.0, 1.0))[0]


def otsu_threshold(hist: np.ndarray) -> float:
    """Otsu's threshold of a histogram over [0, 1]: the bin edge that maximises the
    between-class variance ``w0 w1 (mu0 - mu1)^2`` of the values below and above it."""
    hist = np.asarray(hist, np.float64)
    if hist.sum() <= 0:
        raise ValueError('otsu_threshold needs a non-empty histogram')
    edges = np.linspace(0.0, 1.0, len(hist) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    p = hist / hist.sum()
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centres)
    with np.errstate(invalid='ignore', divide='ignore'):
        between = (mu[-1] * w0 - mu)**2 / (w0 * (1.0 - w0))
    between[~np.isfinite(between)] = -1.0
    return float(edges[int(np.argmax(between)) + 1])


def score_cam_protocol(cam_paths: Sequence[str],
                       gt_paths: Sequence[str],
                       num_classes: int,
                       own_background: bool = False,
                       workers: int = 0,
                       curve_prefix: Optional[str] = None) -> Dict[str, dict]:
    """Sweep-best J, F at the official 0.25 and the GT-free Otsu threshold of saved CAMs.

    Args:
        cam_paths, gt_paths: CAM files of :func:`save_cams` and their ground-truth masks.
        own_background: the CAMs carry the model's own background map (class 0).
        curve_prefix: also compute F along the sweep and write ``<prefix>.csv`` / ``.png``.

    Returns:
        ``{'cam_sweep_best': {...}, 'cam_F_bg0.25': {...}, 'cam_otsu': {...}}`` (the last two
        without ``own_background``), each with ``how`` saying how it was obtained.
    """
    sweep = DEFAULT_BACKGROUND_FACTORS if own_background else DEFAULT_THRESHOLDS
    rows = background_curve(cam_paths, gt_paths, num_classes, thresholds=sweep,
                            with_f=curve_prefix is not None, workers=workers)
    if curve_prefix is not None:
        write_curve(rows, curve_prefix)
    best = best_threshold(rows)
    what = 'factors 0.10-2.00 on the background map' if own_background else \
        'background scores 0.00-0.59'
    out = {'cam_sweep_best': dict(
        J=best['J'], threshold=best['threshold'],
        how=f'best mIoU over {what} (official eval_cam_voc.py --curve; tuned on these masks)')}
    if curve_prefix is not None:
        out['cam_sweep_best'].update(F=best['F'], **{'J&F': best['J&F']})
    if own_background:
        return out
    hists = track_parallel_progress(peak_histogram, list(cam_paths), workers) if workers > 0 \
        else [peak_histogram(p) for p in cam_paths]
    otsu = otsu_threshold(np.sum(hists, axis=0))
    fixed, free = background_curve(cam_paths, gt_paths, num_classes,
                                   thresholds=(OFFICIAL_F_THRESHOLD, otsu), workers=workers)
    out['cam_F_bg0.25'] = dict(
        F=fixed['F'], J=fixed['J'], threshold=OFFICIAL_F_THRESHOLD,
        how='boundary F with background 0.25 (official contour_fscore.py --is_cam --is_seam)')
    out['cam_otsu'] = dict(
        J=free['J'], F=free['F'], **{'J&F': free['J&F']}, threshold=otsu,
        how='GT-free background: Otsu threshold of the peak CAM values of all scored images')
    return out


def score_summary(metrics: Dict[str, dict]) -> List[str]:
    """One printable line per entry of a ``metrics.json`` (the numbers it has, and where a
    threshold was chosen, that threshold)."""
    lines = []
    for name, res in metrics.items():
        if name == 'scored_on':
            lines.append(f'scored on   {res["set"]}: {res["images"]} images')
            continue
        vals = '  '.join(f'{k} {res[k]:.2f}' for k in ('J', 'F', 'J&F') if k in res)
        thr = f'  (threshold {res["threshold"]:.3g})' if 'threshold' in res else ''
        lines.append(f'{name:<12} {vals}{thr}')
    return lines
