"""Boundary F against the formulas of the official contour_fscore.py (written out here)."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from scipy.ndimage import binary_dilation

from mmseg_hfpl.evaluation import BoundaryFMetric, boundary_f_matches, seg2bmap


def ref_seg2bmap(seg):
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


def ref_disk(radius):
    """skimage.morphology.disk: x^2 + y^2 <= r^2."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (x**2 + y**2) <= radius**2


def ref_f_matches(foreground_mask, gt_mask, bound_th=0.008):
    """Official ``f_matches`` (dilation with a disk structuring element)."""
    bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(
        foreground_mask.shape))
    fg_boundary = ref_seg2bmap(foreground_mask)
    gt_boundary = ref_seg2bmap(gt_mask)
    disk = ref_disk(int(bound_pix))
    fg_dil = binary_dilation(fg_boundary, disk)
    gt_dil = binary_dilation(gt_boundary, disk)
    return (np.sum(fg_boundary * gt_dil), np.sum(gt_boundary * fg_dil), np.sum(fg_boundary),
            np.sum(gt_boundary))


def ref_mean_f(preds, gts, num_classes):
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


def random_maps(seed, shape=(37, 53), num_classes=4):
    rng = np.random.default_rng(seed)
    # blocky random label maps: upsampled noise gives real regions with boundaries
    small = rng.integers(0, num_classes, (shape[0] // 6 + 1, shape[1] // 6 + 1))
    gt = np.kron(small, np.ones((6, 6), int))[:shape[0], :shape[1]]
    pred = gt.copy()
    flip = rng.random(shape) < 0.1
    pred[flip] = rng.integers(0, num_classes, flip.sum())
    pred = np.roll(pred, rng.integers(-2, 3), axis=1)
    return pred, gt


def test_seg2bmap_hand_made():
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True
    expected = np.array([[1, 1, 1, 1, 0],
                         [1, 0, 0, 1, 0],
                         [1, 1, 1, 1, 0],
                         [0, 0, 0, 0, 0]], bool)
    assert (seg2bmap(mask) == expected).all()
    assert (seg2bmap(mask) == ref_seg2bmap(mask)).all()


def test_matches_hand_made_shifted_square():
    gt = np.zeros((40, 40), int)
    gt[10:20, 10:20] = 1
    pred = np.zeros_like(gt)
    pred[10:20, 13:23] = 1  # shifted 3 px; tolerance ceil(0.008 * 56.6) = 1 px
    counts = boundary_f_matches(pred, gt, num_classes=2)
    assert tuple(counts[1]) == tuple(int(v) for v in ref_f_matches(pred == 1, gt == 1))
    # by hand: seg2bmap marks the 10x10 square's top row and left column one pixel outside
    # (rows/cols 9) and its bottom row / right column inside: 40 boundary pixels each. With the
    # 1-px tolerance (a plus-shaped disk), 9 + 8 + 3 prediction pixels lie on or next to the
    # ground-truth boundary (top row, bottom row, left column) and 9 + 9 + 2 ground-truth pixels
    # next to the prediction's.
    assert tuple(counts[1]) == (20, 20, 40, 40)
    assert tuple(counts[0]) == tuple(int(v) for v in ref_f_matches(pred == 0, gt == 0))


@pytest.mark.parametrize('seed', range(6))
def test_matches_equal_official_on_random_maps(seed):
    shape = [(37, 53), (64, 64), (120, 90)][seed % 3]
    pred, gt = random_maps(seed, shape, num_classes=5)
    counts = boundary_f_matches(pred, gt, num_classes=5)
    for c in range(5):
        assert tuple(counts[c]) == tuple(int(v) for v in ref_f_matches(pred == c, gt == c)), c


@pytest.mark.parametrize('bound_th', [0.02, 3])
def test_matches_with_other_tolerances(bound_th):
    pred, gt = random_maps(9, (80, 70), num_classes=3)
    counts = boundary_f_matches(pred, gt, num_classes=3, bound_th=bound_th)
    for c in range(3):
        assert tuple(counts[c]) == tuple(int(v) for v in ref_f_matches(pred == c, gt == c,
                                                                        bound_th))


def _sample(pred, gt):
    s = SegDataSample()
    s.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    s.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    return s.to_dict()


def test_metric_equals_official_mean_f_and_iou_metric():
    num_classes = 4
    preds, gts = [], []
    for seed in range(5):
        pred, gt = random_maps(seed + 20, (48, 40), num_classes)
        gt[gt == 3] = np.where(np.random.default_rng(seed).random((gt == 3).sum()) < 0.3, 255, 3)
        preds.append(pred)
        gts.append(gt)
    # class 3 never predicted in one image and absent everywhere for another class
    meta = dict(classes=('background', 'a', 'b', 'c'))
    metric = BoundaryFMetric()
    metric.dataset_meta = meta
    iou = IoUMetric(iou_metrics=['mIoU'])
    iou.dataset_meta = meta
    samples = [_sample(p, g) for p, g in zip(preds, gts)]
    metric.process({}, samples)
    iou.process({}, samples)
    res = metric.compute_metrics(metric.results)
    expected_f = ref_mean_f(preds, gts, num_classes) * 100
    assert res['F'] == pytest.approx(round(expected_f, 2), abs=1e-9)
    miou = iou.compute_metrics(iou.results)['mIoU']
    assert res['J'] == pytest.approx(miou, abs=0.01)
    assert res['J&F'] == pytest.approx((res['J'] + res['F']) / 2, abs=0.01)


def test_absent_class_scores_one_and_perfect_prediction_scores_hundred():
    gt = np.zeros((30, 30), np.int64)
    gt[5:15, 5:15] = 1
    metric = BoundaryFMetric()
    metric.dataset_meta = dict(classes=('background', 'a', 'b'))
    metric.process({}, [_sample(gt.copy(), gt)])
    res = metric.compute_metrics(metric.results)
    assert res['F'] == 100.0 and res['J'] == 100.0
    metric.results.clear()
    empty = np.zeros_like(gt)
    metric.process({}, [_sample(empty, gt)])
    # class a: missed (F 0); class b absent from both (F 1) -> mean 50
    assert metric.compute_metrics(metric.results)['F'] == 50.0


def test_tolerance_is_ceil_of_diagonal_fraction():
    from mmseg_hfpl.evaluation.functional import boundary_tolerance
    assert boundary_tolerance((375, 500)) == math.ceil(0.008 * 625)  # 5 px
    assert boundary_tolerance((10, 10), 4) == 4
