"""Reference boundary F, written from the formulas of the official ``contour_fscore.py`` of hfpl
(DAVIS ``f_boundary``): ``seg2bmap`` on full-size maps, a disk structuring element of radius
``ceil(bound_th * diagonal)`` and ``scipy.ndimage.binary_dilation``. Used by the tests and the
benchmark only (``tools/benchmarks/boundary_f.py``); the metric uses
:mod:`mmseg_hfpl.evaluation.functional`."""
import numpy as np
from scipy.ndimage import binary_dilation


def ref_seg2bmap(seg: np.ndarray) -> np.ndarray:
    """DAVIS / official ``_seg2bmap`` for a full-size map."""
    seg = seg.astype(bool)
    e = np.zeros_like(seg)
    s = np.zeros_like(seg)
    se = np.zeros_like(seg)
    e[:, :-1] = seg[:, 1:]
    s[:-1, :] = seg[1:, :]
    se[:-1, :-1] = seg[1:, 1:]
    b = seg ^ e | seg ^ s | seg ^ se
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = 0
    return b


def ref_disk(radius: int) -> np.ndarray:
    """skimage.morphology.disk: x^2 + y^2 <= r^2."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (x**2 + y**2) <= radius**2


def ref_f_matches(foreground_mask: np.ndarray, gt_mask: np.ndarray, bound_th: float = 0.008):
    """Official ``f_matches`` (dilation with a disk structuring element): (prediction boundary
    pixels matched, ground-truth boundary pixels matched, prediction / ground-truth boundary
    pixels)."""
    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(
        foreground_mask.shape))
    fg_boundary = ref_seg2bmap(foreground_mask)
    gt_boundary = ref_seg2bmap(gt_mask)
    disk = ref_disk(int(bound_pix))
    fg_dil = binary_dilation(fg_boundary, disk)
    gt_dil = binary_dilation(gt_boundary, disk)
    return (np.sum(fg_boundary * gt_dil), np.sum(gt_boundary * fg_dil), np.sum(fg_boundary),
            np.sum(gt_boundary))


def ref_image_counts(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                     bound_th: float = 0.008) -> np.ndarray:
    """(C, 4) match counts of one image, class by class with :func:`ref_f_matches` (the official
    main() loops over the foreground classes; row 0 is computed the same way)."""
    return np.array([ref_f_matches((pred == c).astype(np.uint8), (gt == c).astype(np.uint8),
                                   bound_th) for c in range(num_classes)], dtype=np.int64)


def ref_mean_f(preds, gts, num_classes: int) -> float:
    """Official main(): void -> 0, per-class accumulation, F averaged over foreground classes."""
    acc = np.zeros((num_classes, 4))
    for pred, gt in zip(preds, gts):
        gt = gt.copy()
        gt[gt == 255] = 0
        for idx in range(1, num_classes):
            acc[idx] += ref_f_matches((pred == idx).astype(np.uint8), (gt == idx).astype(np.uint8))
    total = 0.0
    for fgm, gtm, nfg, ngt in acc[1:]:
        if nfg == 0 and ngt > 0:
            precision, recall = 1, 0
        elif nfg > 0 and ngt == 0:
            precision, recall = 0, 1
        elif nfg == 0 and ngt == 0:
            precision, recall = 1, 1
        else:
            precision, recall = fgm / nfg, gtm / ngt
        total += 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return total / (num_classes - 1)
