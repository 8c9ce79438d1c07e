"""Boundary F against the formulas of the official contour_fscore.py
(mmseg_hfpl/evaluation/reference.py)."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from mmseg_hfpl.evaluation import (BoundaryFMetric, boundary_f_counts_parallel, boundary_f_matches,
                                   class_boundary_bits, score_label_files, seg2bmap,
                                   summarise_counts)
from mmseg_hfpl.evaluation.reference import (ref_f_matches, ref_image_counts, ref_mean_f,
                                             ref_seg2bmap)


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


@pytest.mark.parametrize('shape', [(1, 1), (1, 6), (6, 1), (2, 2), (7, 5)])
def test_seg2bmap_equals_official_on_small_masks(shape):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    for _ in range(10):
        mask = rng.random(shape) < 0.5
        assert (seg2bmap(mask) == ref_seg2bmap(mask)).all()


@pytest.mark.parametrize('num_classes', [3, 9, 21, 70])
def test_class_boundary_bits_equal_seg2bmap_of_each_class(num_classes):
    rng = np.random.default_rng(num_classes)
    label = rng.integers(0, num_classes, (12, 15))
    label[0, :4] = 255  # outside the classes: no bit of its own, bounds its neighbours
    bits = class_boundary_bits(label, num_classes)
    nbits = bits.dtype.itemsize * 8
    assert bits.shape[0] == -(-num_classes // nbits)
    for c in range(num_classes):
        plane = (bits[c // nbits] >> np.array(c % nbits, bits.dtype)) & 1
        assert (plane.astype(bool) == ref_seg2bmap(label == c)).all(), c


@pytest.mark.parametrize('num_classes,shape,bound_th', [(21, (75, 100), 0.008), (21, (94, 125), 5),
                                                        (70, (40, 50), 2), (130, (30, 40), 1),
                                                        (3, (1, 9), 3), (4, (11, 1), 0.5)])
def test_matches_equal_official_with_many_classes_and_odd_shapes(num_classes, shape, bound_th):
    rng = np.random.default_rng(num_classes + shape[0])
    gt = rng.integers(0, num_classes, (shape[0] // 5 + 1, shape[1] // 5 + 1))
    gt = np.kron(gt, np.ones((5, 5), int))[:shape[0], :shape[1]]
    pred = np.roll(gt, (1, -2), axis=(0, 1)).copy()
    pred.flat[::7] = rng.integers(0, num_classes, pred.flat[::7].size)
    pred.flat[0] = 255
    counts = boundary_f_matches(pred, gt, num_classes, bound_th)
    assert counts[:, 2].sum() > 0
    assert (counts == ref_image_counts(pred, gt, num_classes, bound_th)).all()


def _voc_like(seed, shape=(60, 80), num_classes=21):
    pred, gt = random_maps(seed, shape, num_classes)
    gt[:3] = 255  # a void band
    return pred, gt


def test_parallel_counts_equal_in_process_and_metric():
    pairs = [_voc_like(seed) for seed in range(4)]
    preds, gts = [p for p, _ in pairs], [g for _, g in pairs]
    serial = boundary_f_counts_parallel(preds, gts, 21)
    parallel = boundary_f_counts_parallel(preds, gts, 21, workers=2)
    for a, b in zip(serial, parallel):
        for x, y in zip(a, b):
            assert (x == y).all()
    metric = BoundaryFMetric()
    metric.dataset_meta = dict(classes=tuple(range(21)))
    metric.process({}, [_sample(p, g) for p, g in pairs])
    assert summarise_counts(parallel)[2] == metric.compute_metrics(metric.results)
    assert summarise_counts(parallel)[2]['F'] == pytest.approx(round(ref_mean_f(preds, gts, 21)
                                                                     * 100, 2), abs=1e-9)


def test_score_label_files_equals_metric(tmp_path):
    from PIL import Image
    pairs = [_voc_like(seed + 10) for seed in range(3)]
    pred_paths, gt_paths = [], []
    for i, (pred, gt) in enumerate(pairs):
        pred_paths.append(str(tmp_path / f'p{i}.png'))
        gt_paths.append(str(tmp_path / f'g{i}.png'))
        Image.fromarray(pred.astype(np.uint8)).save(pred_paths[-1])
        Image.fromarray(gt.astype(np.uint8)).save(gt_paths[-1])
    metric = BoundaryFMetric()
    metric.dataset_meta = dict(classes=tuple(range(21)))
    metric.process({}, [_sample(p, g) for p, g in pairs])
    expected = metric.compute_metrics(metric.results)
    assert score_label_files(pred_paths, gt_paths, 21, workers=2) == expected
    assert score_label_files(pred_paths, gt_paths, 21, progress=False) == expected
    Image.fromarray(pairs[0][1][:-1].astype(np.uint8)).save(gt_paths[0])
    with pytest.raises(ValueError, match='p0.png'):
        score_label_files(pred_paths, gt_paths, 21, progress=False)


def test_image_counts_areas_equal_iou_metric():
    from mmseg_hfpl.evaluation import image_counts
    pred, gt = _voc_like(30, (50, 70), num_classes=6)
    pred[:5, :5] = 255  # a prediction outside the classes is never counted
    counts, *areas = image_counts(pred, gt, 6)
    expected = IoUMetric.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(gt), 6, 255)
    for ours, theirs in zip(areas, expected):
        assert ours.dtype == np.int64
        assert ours.tolist() == theirs.long().tolist()
    gt_f = np.where(gt == 255, 0, gt)
    assert (counts == ref_image_counts(pred, gt_f, 6)).all()
