"""Contour accuracy (boundary F) of the DAVIS benchmark, as used by the paper (Sec. 5.1).

Same conventions as the official ``contour_fscore.py`` of hfpl: one-pixel boundaries from
``seg2bmap``, a match tolerance of ``ceil(bound_th * image diagonal)`` pixels (a disk), matches
accumulated over the dataset per foreground class, and F averaged over the foreground classes.
"""
import math

import cv2
import numpy as np


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of a binary mask (Martin et al.; DAVIS ``seg2bmap``).

    A pixel is on the boundary when it differs from its east, south or south-east neighbour;
    the last row compares east only, the last column south only, and the corner is never set.
    """
    seg = np.asarray(mask).astype(bool)
    if seg.ndim != 2:
        raise ValueError(f'mask must be (H, W), got shape {seg.shape}')
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    bmap[-1, :] = seg[-1, :] ^ east[-1, :]
    bmap[:, -1] = seg[:, -1] ^ south[:, -1]
    bmap[-1, -1] = False
    return bmap


def boundary_tolerance(shape, bound_th: float = 0.008) -> int:
    """Match radius in pixels: ``bound_th`` itself if >= 1, else ``ceil(bound_th * diagonal)``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def _within(bmap: np.ndarray, radius: int) -> np.ndarray:
    """Pixels whose Euclidean distance to a boundary pixel is at most ``radius`` (a disk
    dilation, computed with an exact Euclidean distance transform)."""
    if not bmap.any():
        return np.zeros_like(bmap)
    dist = cv2.distanceTransform((~bmap).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # integer squared distances: compare squares to avoid rounding at the disk edge
    return np.rint(dist.astype(np.float64) ** 2) <= radius * radius


def boundary_f_matches(pred: np.ndarray,
                       gt: np.ndarray,
                       num_classes: int,
                       bound_th: float = 0.008) -> np.ndarray:
    """Per-class boundary match counts of one image.

    Args:
        pred, gt: (H, W) integer label maps.
        num_classes: number of classes ``C`` (rows of the result).
        bound_th: tolerance as a fraction of the image diagonal (or pixels if >= 1).

    Returns:
        int64 array (C, 4); row ``c`` holds, for the binary masks ``pred == c`` and ``gt == c``:
        (prediction boundary pixels matched, ground-truth boundary pixels matched,
        prediction boundary pixels, ground-truth boundary pixels).
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'pred and gt must be (H, W) maps of one shape, got {pred.shape} and '
                         f'{gt.shape}')
    radius = boundary_tolerance(gt.shape, bound_th)
    counts = np.zeros((num_classes, 4), dtype=np.int64)
    present = np.union1d(np.unique(pred), np.unique(gt))
    for c in present[(present >= 0) & (present < num_classes)]:
        pb = seg2bmap(pred == c)
        gb = seg2bmap(gt == c)
        counts[c] = (np.count_nonzero(pb & _within(gb, radius)),
                     np.count_nonzero(gb & _within(pb, radius)),
                     np.count_nonzero(pb), np.count_nonzero(gb))
    return counts


def boundary_f_score(counts: np.ndarray) -> np.ndarray:
    """Per-class F from accumulated (C, 4) match counts, with the official conventions: no
    prediction boundary -> precision 1; no ground-truth boundary -> recall 1 (so a class absent
    from both scores 1); precision + recall = 0 -> F = 0."""
    counts = np.asarray(counts, dtype=np.float64)
    pm, gm, npred, ngt = counts.T
    # with one side empty, the other side's matches are 0, which gives the official 0 / 1 cases
    precision = np.where(npred > 0, pm / np.maximum(npred, 1), 1.0)
    recall = np.where(ngt > 0, gm / np.maximum(ngt, 1), 1.0)
    denom = precision + recall
    return np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
