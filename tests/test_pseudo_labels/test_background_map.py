"""CAMs that carry the model's own background map (class 0 first, SIPE) through every consumer:
labels, CRFs, the background curve, IRN's relation labels and the random walk."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from mmseg_hfpl.pseudo_labels import (background_curve, crf_cam_labels, crf_label_refine,
                                      labels_from_cams, save_cams)
from mmseg_hfpl.pseudo_labels.cam_inference import scores_with_background, split_background
from mmseg_hfpl.pseudo_labels.generator import ir_training_labels
from mmseg_hfpl.pseudo_labels.refine import random_walk_labels

from .test_crf_curve_writer import blurry_cam, iou, two_region_image

# background, class 3 over four pixels
CAMS = np.array([[0.5, 0.5, 0.9, 0.1], [0.6, 0.4, 0.5, 0.2]], np.float32).reshape(2, 1, 4)
CLASSES = np.array([0, 3])


def test_split_and_scores_with_a_background_map():
    bg, fg, fg_classes = split_background(CAMS, CLASSES)
    assert np.array_equal(bg, CAMS[0]) and np.array_equal(fg, CAMS[1:])
    assert fg_classes.tolist() == [3]
    scores, keys = scores_with_background(CAMS, CLASSES, 0.5)
    assert keys.tolist() == [0, 3] and np.allclose(scores[0], CAMS[0] * 0.5)
    # foreground-only CAMs: the value is the constant background score, as before
    scores, keys = scores_with_background(CAMS[1:], CLASSES[1:], 0.45)
    assert keys.tolist() == [0, 3] and np.allclose(scores[0], 0.45)


def test_labels_argmax_with_the_scaled_background_map():
    assert labels_from_cams(CAMS, CLASSES, 1.0)[0].tolist() == [3, 0, 0, 3]  # ties -> bg
    assert labels_from_cams(CAMS, CLASSES, 0.5)[0].tolist() == [3, 3, 3, 3]
    assert labels_from_cams(CAMS, CLASSES, 2.0)[0].tolist() == [0, 0, 0, 0]


def test_crfs_use_the_background_map_without_duplicating_class_0():
    img, gt = two_region_image()
    cam = blurry_cam()
    cams = np.concatenate([1.0 - cam, cam])  # a background map, then class 3
    classes = np.array([0, 3])
    for alpha in (1, 4):  # b^alpha: with b = 1 - cam it is SEAM's (1 - max)^alpha exactly
        assert np.array_equal(crf_cam_labels(img, cams, classes, alpha),
                              crf_cam_labels(img, cam, np.array([3]), alpha))
    coarse = labels_from_cams(cams, classes, 1.0)
    refined = crf_label_refine(img, coarse, classes)
    assert set(np.unique(refined)) <= {0, 3} and iou(refined, gt, 3) > iou(coarse, gt, 3)


def test_ir_labels_with_background_factors(monkeypatch):
    from mmseg_hfpl.pseudo_labels import generator
    monkeypatch.setattr(generator, 'crf_label_refine', lambda img, label, classes, **kw: label)
    img, _ = two_region_image()
    cam = blurry_cam()
    cams = np.concatenate([np.full_like(cam, 0.5), cam])
    label = ir_training_labels(img, cams, np.array([0, 3]), fg_threshold=1.0, bg_threshold=0.5)
    # objects where the class beats the background map (0.5), background where it does not
    # beat even half of it (0.25), unknown between (SIPE's cam_to_ir_label without the CRF)
    expected = np.where(cam[0] > 0.5, 3, np.where(cam[0] > 0.25, 255, 0))
    assert np.array_equal(label, expected) and (expected == 255).any()


def test_curve_sweeps_factors_on_the_background_map(tmp_path):
    img, gt = two_region_image()
    cam = blurry_cam()
    cams = np.concatenate([np.full_like(cam, 0.5), cam])
    cam_path, gt_path = str(tmp_path / 'a.npz'), str(tmp_path / 'a.png')
    save_cams(cam_path, cams, np.array([0, 3]))
    Image.fromarray(gt.astype(np.uint8)).save(gt_path)
    rows = background_curve([cam_path], [gt_path], num_classes=4, thresholds=(0.2, 1.0, 1.8))
    cams16 = cams.astype(np.float16).astype(np.float32)
    for row in rows:
        pred = labels_from_cams(cams16, np.array([0, 3]), row['threshold'])
        expected_j = (iou(pred, gt, 0) + iou(pred, gt, 3)) / 2 * 100
        assert row['J'] == pytest.approx(expected_j, rel=1e-9)


class IdentityAffinity(nn.Module):
    """A stand-in affinity network on the pixel grid (stride 1): no pixel talks to another, so
    the walk keeps the seeds."""
    output_stride = 1

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def data_preprocessor(self, data, training):
        return dict(inputs=torch.stack(data['inputs']).float())

    def pair_affinities(self, inputs):
        h, w = inputs.shape[2:]
        return torch.zeros(2, 0, dtype=torch.long), torch.zeros(1, 0), (h, w)


def test_random_walk_walks_the_background_map():
    image = np.zeros((1, 4, 3), np.uint8)
    model = IdentityAffinity()
    assert random_walk_labels(model, image, CAMS, CLASSES, logt=2)[0].tolist() == [3, 0, 0, 3]
    for factor in (1.0, 0.5):
        walked = random_walk_labels(model, image, CAMS, CLASSES, logt=2, bg_threshold=factor,
                                    cam_power=1.5)
        # SIPE: the walk runs on CAM^1.5, background included; the factor scales it afterwards
        assert np.array_equal(walked, labels_from_cams(CAMS ** 1.5, CLASSES, factor))
    # without a background map the classic seed (1 - max)^alpha is walked, as before
    walked = random_walk_labels(model, image, CAMS[1:], CLASSES[1:], logt=2, bg_alpha=1.0)
    # seed 1 - r = [.4, .6, .5, .8] against r = [.6, .4, .5, .2]; the tie goes to the background
    assert walked[0].tolist() == [3, 0, 0, 0]
