"""PMM's CVS and PPMG (mmseg_hfpl/pseudo_labels/pmm.py) against values worked out by hand."""
import math

import numpy as np
import pytest

from mmseg_hfpl.pseudo_labels import pmm
from mmseg_hfpl.pseudo_labels.pmm import coefficient_of_variation, cov_smoothing, ppmg_labels


def test_coefficient_of_variation_by_hand():
    cam = np.array([[0.0, 0.04, 0.2], [0.4, 0.6, 0.05]])
    # pixels > .05: .2, .4, .6 (.05 itself is out): mean .4, population std sqrt(.08 / 3)
    expected = math.sqrt(0.08 / 3) / 0.4 * 0.3
    assert coefficient_of_variation(cam) == pytest.approx(expected, rel=1e-6)
    assert coefficient_of_variation(cam, threshold=0.3, scale=1.0) == pytest.approx(0.2, rel=1e-6)
    assert coefficient_of_variation(np.full((2, 2), 0.05)) == 0.0  # nothing above .05
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        coefficient_of_variation(np.zeros((1, 2, 2)))


def test_cov_smoothing_by_hand():
    cam = np.array([[0.0, 0.04, 0.25], [0.64, 1.0, 0.05]])
    # below .05 -> 0 (.05 is kept), then v ** (1 - .5) = sqrt(v)
    expected = np.array([[0.0, 0.0, 0.5], [0.8, 1.0, math.sqrt(0.05)]])
    np.testing.assert_allclose(cov_smoothing(cam, 0.5), expected, rtol=1e-12)
    np.testing.assert_allclose(cov_smoothing(cam, 0.0), np.where(cam < 0.05, 0, cam))


@pytest.fixture
def crf_by_unary(monkeypatch):
    """Replace PMM's CRF by its unary alone (foreground where s > (1 - s)^alpha) and record the
    score maps it receives."""
    calls = []

    def fake_crf(image, scores, **kwargs):
        calls.append(scores.copy())
        return scores / scores.sum(axis=0, keepdims=True)

    monkeypatch.setattr(pmm, 'pmm_crf', fake_crf)
    return calls


def test_ppmg_scores_sent_to_the_crf(crf_by_unary):
    cam = np.array([[[0.2, 0.6, 0.04, 0.05]]])
    ppmg_labels(np.zeros((1, 4, 3), np.uint8), cam, np.array([5]))
    # CoV over (.2, .6): std .2 / mean .4 * .3 = .15 -> s = v ** .85, .04 -> 0
    s = np.array([0.2**0.85, 0.6**0.85, 0.0, 0.05**0.85])
    (scores, ) = crf_by_unary
    np.testing.assert_allclose(scores[1, 0], s, rtol=1e-6)
    np.testing.assert_allclose(scores[0, 0], (1 - s)**11, rtol=1e-6)  # alpha 11


def test_ppmg_importance_gives_overlaps_to_the_smaller_object(crf_by_unary):
    # class 3: .9 on pixels 0-2 -> importance .9 / (1 + 2.7) = .243 on its mask
    # class 7: .5 on pixels 1-2 -> importance .5 / (1 + 1.0) = .25: wins the overlap although
    # its CAM is lower; pixel 3 (class 7 at .02 < .05) is claimed by nobody -> background
    cams = np.array([[[0.9, 0.9, 0.9, 0.0]], [[0.0, 0.5, 0.5, 0.02]]])
    label = ppmg_labels(np.zeros((1, 4, 3), np.uint8), cams, np.array([3, 7]))
    np.testing.assert_array_equal(label, [[3, 7, 7, 0]])
    assert label.dtype == np.uint8
    # the same class pair with class 7 spread over 4 pixels loses the overlap
    cams[1] = [[0.5, 0.5, 0.5, 0.5]]  # importance .5 / 3 = .167 < .243
    np.testing.assert_array_equal(ppmg_labels(np.zeros((1, 4, 3), np.uint8), cams,
                                              np.array([3, 7])), [[3, 3, 3, 7]])
    # the +1 of the denominator: class 7 at .3 on one pixel scores .3 / 1.3 = .231 there,
    # class 3 at .9 on two pixels .9 / 2.8 = .321 (without the +1: 1.0 vs .5, the other way)
    cams = np.array([[[0.9, 0.9, 0.0, 0.0]], [[0.0, 0.3, 0.0, 0.0]]])
    np.testing.assert_array_equal(ppmg_labels(np.zeros((1, 4, 3), np.uint8), cams,
                                              np.array([3, 7])), [[3, 3, 0, 0]])


def two_colour_image(h=24, w=32):
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :w // 2] = (200, 30, 30)
    image[:, w // 2:] = (30, 30, 200)
    return image


def test_ppmg_crf_snaps_a_blurred_cam_to_the_colour_edge():
    image = two_colour_image()
    # class 15: .9 on columns 0-11, fading to 0 at column 21, across the edge at column 16
    profile = np.clip((21 - np.arange(32)) / 10, 0, 1) * 0.9
    cam = np.tile(profile, (24, 1))[None].astype(np.float32)
    label = ppmg_labels(image, cam, np.array([15]))
    expected = np.zeros((24, 32), np.uint8)
    expected[:, :16] = 15
    np.testing.assert_array_equal(label, expected)
    # without the CRF the smoothed CAM beats (1 - s)^11 up to column 19
    s = cov_smoothing(cam[0], coefficient_of_variation(cam[0]))
    assert (s > (1 - s)**11)[0].sum() == 20


def test_ppmg_two_classes_on_two_colour_regions():
    image = two_colour_image()
    x = np.arange(32)
    left = np.tile(np.clip((20 - x) / 8, 0, 1) * 0.8, (24, 1))  # bleeds right of column 16
    right = left[:, ::-1]  # bleeds left of column 16
    label = ppmg_labels(image, np.stack([left, right]), np.array([2, 9]))
    assert (label[:, :16] == 2).all() and (label[:, 16:] == 9).all()


def test_ppmg_degenerate_and_bad_inputs():
    image = np.zeros((3, 4, 3), np.uint8)
    assert (ppmg_labels(image, np.zeros((0, 3, 4)), np.zeros(0)) == 0).all()
    # a leading background map (class 0) is ignored: PPMG builds its own background
    cams = np.stack([np.ones((3, 4)), np.zeros((3, 4))])
    assert (ppmg_labels(image, cams, np.array([0, 4])) == 0).all()
    with pytest.raises(ValueError, match='K = len'):
        ppmg_labels(image, np.zeros((2, 3, 4)), np.array([1]))
    with pytest.raises(ValueError, match='CAM size'):
        ppmg_labels(image, np.zeros((1, 4, 4)), np.array([1]))
