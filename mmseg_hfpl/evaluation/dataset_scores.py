"""J, F and J&F of whole datasets: the per-image counts of :class:`BoundaryFMetric`, their
summary, and the same over label maps or label files in worker processes (the pseudo-label
tools, which score 10,582 or 82,783 images outside the training loop)."""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress
from PIL import Image

from ..datasets.checks import read_mask
from .functional import boundary_f_matches, boundary_f_score

# (boundary counts (C, 4), area_intersect, area_union, area_pred, area_label), each (C, )
ImageCounts = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def image_counts(pred: np.ndarray,
                 gt: np.ndarray,
                 num_classes: int,
                 ignore_index: int = 255,
                 bound_th: float = 0.008) -> ImageCounts:
    """Counts of one image, summed over a dataset by :func:`summarise_counts`.

    The areas are those of mmseg's :meth:`IoUMetric.intersect_and_union` (pixels with void
    ground truth left out, labels outside ``[0, num_classes)`` not counted), as exact integers;
    for the boundaries, void (``ignore_index``) ground-truth pixels are relabelled as background,
    as the official ``contour_fscore.py`` does, so that their boundaries count.

    Args:
        pred, gt: (H, W) integer label maps of one shape.
        num_classes: number of classes.
        ignore_index: void label of the ground truth.
        bound_th: boundary tolerance (:func:`boundary_f_matches`).
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'pred and gt must be (H, W) maps of one shape, got {pred.shape} and '
                         f'{gt.shape}')
    valid = gt != ignore_index
    p, g = pred[valid], gt[valid]

    def area(labels):
        labels = labels[(labels >= 0) & (labels < num_classes)]
        return np.bincount(labels.astype(np.intp), minlength=num_classes).astype(np.int64)

    area_intersect = area(p[p == g])
    area_pred, area_label = area(p), area(g)
    area_union = area_pred + area_label - area_intersect
    gt_f = np.where(valid, gt, 0)  # official: void boundaries count
    counts = boundary_f_matches(pred, gt_f, num_classes, bound_th)
    return counts, area_intersect, area_union, area_pred, area_label


def summarise_counts(results: Iterable[ImageCounts],
                     background_index: Optional[int] = 0) -> Tuple[np.ndarray, np.ndarray, dict]:
    """Per-class F, per-class IoU and ``{'J', 'F', 'J&F'}`` (percent, rounded to 2 decimals)
    from per-image counts: F from the boundary matches accumulated over the dataset, averaged
    over the classes other than ``background_index``; J the mean IoU over all classes."""
    results = list(results)
    if not results:
        raise ValueError('no images to score (empty list of per-image counts)')
    counts = np.sum([r[0] for r in results], axis=0)
    inter, union = (np.sum([r[i] for r in results], axis=0) for i in (1, 2))
    f_per_class = boundary_f_score(counts)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = inter / union
    foreground = [c for c in range(len(f_per_class)) if c != background_index]
    f_mean = float(np.mean(f_per_class[foreground])) * 100
    j_mean = float(np.nanmean(iou)) * 100
    scores = {'J': round(j_mean, 2), 'F': round(f_mean, 2),
              'J&F': round((j_mean + f_mean) / 2, 2)}
    return f_per_class, iou, scores


def _array_task(task) -> ImageCounts:
    return image_counts(*task)


def _file_task(task) -> ImageCounts:
    pred_path, gt_path, num_classes, ignore_index, bound_th = task
    with Image.open(pred_path) as img:
        pred = np.asarray(img)
    gt = read_mask(gt_path, num_classes, ignore_index=ignore_index)
    if pred.shape != gt.shape:
        raise ValueError(f'{pred_path}: shape {pred.shape} differs from the ground truth '
                         f'{gt_path} {gt.shape}')
    return image_counts(pred, gt, num_classes, ignore_index, bound_th)


def _run(func, tasks: List[tuple], workers: int, progress: bool) -> List[ImageCounts]:
    if workers > 0 and len(tasks) > 1:
        if progress:
            return track_parallel_progress(func, tasks, workers)
        from multiprocessing import Pool
        with Pool(workers) as pool:
            return pool.map(func, tasks, chunksize=max(1, len(tasks) // (4 * workers)))
    if progress:
        return track_progress(func, tasks)
    return [func(t) for t in tasks]


def boundary_f_counts_parallel(preds: Sequence[np.ndarray],
                               gts: Sequence[np.ndarray],
                               num_classes: int,
                               workers: int = 0,
                               ignore_index: int = 255,
                               bound_th: float = 0.008,
                               progress: bool = False) -> List[ImageCounts]:
    """:func:`image_counts` of every (pred, gt) pair of label maps, in input order.

    Args:
        preds, gts: sequences of (H, W) integer label maps (uint8 pickles fastest).
        num_classes: number of classes.
        workers: worker processes (0: in this process).
        ignore_index, bound_th: as for :func:`image_counts`.
        progress: show a progress bar.
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} predictions for {len(gts)} ground-truth maps')
    tasks = [(p, g, num_classes, ignore_index, bound_th) for p, g in zip(preds, gts)]
    return _run(_array_task, tasks, workers, progress)


def score_label_files(pred_paths: Sequence[str],
                      gt_paths: Sequence[str],
                      num_classes: int,
                      workers: int = 0,
                      ignore_index: int = 255,
                      bound_th: float = 0.008,
                      background_index: Optional[int] = 0,
                      progress: bool = True) -> Dict[str, float]:
    """``{'J', 'F', 'J&F'}`` of label PNGs against ground-truth PNGs, equal to
    :class:`BoundaryFMetric` on the same maps; each worker process reads and scores its images.

    Args:
        pred_paths, gt_paths: label PNGs (class indices) and their ground-truth masks (read by
            :func:`~mmseg_hfpl.datasets.checks.read_mask`, which names a bad file).
        num_classes: number of classes.
        workers: worker processes (0: in this process).
        ignore_index, bound_th: as for :func:`image_counts`.
        background_index: class left out of the F average.
        progress: show a progress bar.
    """
    if len(pred_paths) != len(gt_paths):
        raise ValueError(f'{len(pred_paths)} label files for {len(gt_paths)} ground-truth files')
    tasks = [(p, g, num_classes, ignore_index, bound_th) for p, g in zip(pred_paths, gt_paths)]
    return summarise_counts(_run(_file_task, tasks, workers, progress), background_index)[2]
