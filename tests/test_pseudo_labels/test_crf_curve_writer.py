import os

import numpy as np
import pytest
from PIL import Image

from mmseg_hfpl.pseudo_labels import (background_curve, check_output_dirs, crf_cam_labels,
                                      crf_label_refine, labels_from_cams, save_cams,
                                      write_label_png)


def two_region_image(h=40, w=40, edge=22):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :edge] = (200, 40, 40)
    img[:, edge:] = (30, 60, 200)
    gt = np.zeros((h, w), np.int64)
    gt[:, :edge] = 3
    return img, gt


def blurry_cam(h=40, w=40, centre=15.0, width=8.0):
    x = np.arange(w)[None, :].repeat(h, 0)
    return (1 / (1 + np.exp((x - centre) / (width / 4))))[None].astype(np.float32)


def iou(pred, gt, c):
    return ((pred == c) & (gt == c)).sum() / ((pred == c) | (gt == c)).sum()


def test_dense_crf_snaps_the_cam_to_the_colour_edge():
    img, gt = two_region_image()
    cam = blurry_cam()
    classes = np.array([3])
    plain = labels_from_cams(cam, classes, 0.5)
    refined = crf_cam_labels(img, cam, classes, alpha=1)
    assert set(np.unique(refined)) <= {0, 3}
    assert iou(refined, gt, 3) > iou(plain, gt, 3) + 0.1
    assert iou(refined, gt, 3) > 0.95
    # a larger alpha strengthens the background: never more foreground than alpha = 1
    assert (crf_cam_labels(img, cam, classes, alpha=24) == 3).sum() <= (refined == 3).sum()


def test_label_crf_refines_hard_labels_and_keeps_class_indices():
    img, gt = two_region_image()
    coarse = labels_from_cams(blurry_cam(), np.array([3]), 0.5).astype(np.uint8)
    refined = crf_label_refine(img, coarse, np.array([3]))
    assert set(np.unique(refined)) <= {0, 3}
    assert iou(refined, gt, 3) > iou(coarse, gt, 3)


def test_background_curve_equals_direct_scoring(tmp_path):
    img, gt = two_region_image()
    cam = blurry_cam()
    cam_path, gt_path = str(tmp_path / 'a.npz'), str(tmp_path / 'a.png')
    save_cams(cam_path, cam, np.array([3]))
    Image.fromarray(gt.astype(np.uint8)).save(gt_path)
    rows = background_curve([cam_path], [gt_path], num_classes=4, thresholds=(0.1, 0.5, 0.9))
    cam16 = cam.astype(np.float16).astype(np.float32)
    for row in rows:
        pred = labels_from_cams(cam16, np.array([3]), row['threshold'])
        # classes 1 and 2 are absent from both maps (IoU NaN, left out of J like mmseg)
        expected_j = (iou(pred, gt, 0) + iou(pred, gt, 3)) / 2 * 100
        assert row['J'] == pytest.approx(expected_j, rel=1e-9)
    # the CAM falls off before the object edge (x = 22): a low threshold recovers more of it
    assert rows[0]['J'] > rows[1]['J'] > rows[2]['J']


def test_writer_refuses_ground_truth_and_never_leaves_partial_files(tmp_path, monkeypatch):
    gt_dir = tmp_path / 'SegmentationClass'
    gt_dir.mkdir()
    with pytest.raises(ValueError, match='ground-truth'):
        check_output_dirs([str(gt_dir)], [str(gt_dir)])
    with pytest.raises(ValueError, match='ground-truth'):
        check_output_dirs([str(gt_dir / 'sub')], [str(gt_dir)])
    check_output_dirs([str(tmp_path / 'pseudo')], [str(gt_dir)])  # elsewhere is fine
    path = str(tmp_path / 'out' / 'x.png')
    label = np.arange(12, dtype=np.uint8).reshape(3, 4)
    write_label_png(path, label, [[0, 0, 0], [128, 0, 0]])
    assert (np.asarray(Image.open(path)) == label).all()
    assert Image.open(path).mode == 'P'

    def interrupted_save(self, fp, *args, **kwargs):
        with open(fp, 'wb') as f:
            f.write(b'\x89PNG half')
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, 'save', interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        write_label_png(str(tmp_path / 'out' / 'y.png'), label)
    assert not os.path.exists(tmp_path / 'out' / 'y.png')  # no truncated PNG under its name
    assert (np.asarray(Image.open(path)) == label).all()  # the earlier file is intact
