"""SEAM's PCM and losses against values worked out by hand on tiny tensors."""
import math

import pytest
import torch

from mmseg_hfpl.losses import (AdaptiveMinPoolingLoss, EquivariantCrossRegularizationLoss,
                               EquivariantRegularizationLoss)
from mmseg_hfpl.losses.seam_losses import max_onehot
from mmseg_hfpl.models.heads.seam_head import pixel_correlation, seam_pcm_input


def test_pcm_on_two_pixels_by_hand():
    # features (1, 0) and (1, 1): cos = 1/sqrt(2); affinities [[1, c], [c, 1]] (up to the eps)
    feat = torch.tensor([[1., 1.], [0., 1.]]).view(1, 2, 1, 2)
    cam = torch.tensor([[1., 0.], [0., 1.]]).view(1, 2, 1, 2)
    c = 1 / math.sqrt(2)
    out = pixel_correlation(cam, feat, eps=0.0)
    # column j normalised: a_ij / sum_i a_ij = [1, c] / (1 + c)
    expected = torch.tensor([[1, c], [c, 1]]) / (1 + c)
    torch.testing.assert_close(out.view(2, 2), expected)
    # orthogonal (negative) features do not mix: ReLU of the cosine
    feat = torch.tensor([[1., -1.]]).view(1, 1, 1, 2)
    torch.testing.assert_close(pixel_correlation(cam, feat, eps=0.0), cam)


def test_pcm_input_keeps_only_the_top_class_and_adds_background():
    logits = torch.tensor([[0., 0.], [2., 1.], [1., 4.]]).view(1, 3, 1, 2)  # bg, class 1, 2
    out = seam_pcm_input(logits).view(3, 2)
    # class 1: [2, 1] / 2 -> [1, .5]; class 2: [1, 4] / 4 -> [.25, 1] (minus 1e-5, / max + 1e-5)
    # pixel 0 keeps class 1 (1 > .25), pixel 1 keeps class 2 (1 > .5); bg = 1 - top
    expected = torch.tensor([[0., 0.], [1., 0.], [0., 1.]])
    torch.testing.assert_close(out, expected, atol=2e-5, rtol=0)


def test_max_onehot():
    cam = torch.tensor([[.9, .1], [.2, .7], [.5, .3]]).view(1, 3, 1, 2)
    out = max_onehot(cam).view(3, 2)
    torch.testing.assert_close(out, torch.tensor([[.9, .1], [0., .7], [.5, 0.]]))
    assert cam[0, 1, 0, 0] == .2  # the input is not modified


def test_er_is_the_mean_foreground_l1():
    a = torch.tensor([[5., 5.], [1., 0.], [0., .5]]).view(1, 3, 1, 2)
    b = torch.tensor([[0., 0.], [.5, 0.], [0., 1.]]).view(1, 3, 1, 2)
    loss = EquivariantRegularizationLoss(loss_weight=2.0)(a, b)
    assert loss.item() == pytest.approx(2.0 * (0.5 + 0 + 0 + 0.5) / 4)  # background ignored


def test_ecr_top_fraction_by_hand():
    # |max_onehot(other) - rv| over C*h*w = 3*1*2 = 6 values; top_ratio 0.5 keeps the 3 largest
    other = torch.tensor([[.1, .2], [.9, .3], [.4, .8]]).view(1, 3, 1, 2)
    rv = torch.zeros(1, 3, 1, 2)
    # max_onehot(other) = [[.1, .2], [.9, 0], [0, .8]] -> |.| top 3 = .9, .8, .2
    ecr = EquivariantCrossRegularizationLoss(top_ratio=0.5)
    assert ecr.one_direction(other, rv).item() == pytest.approx((.9 + .8 + .2) / 3)
    total = ecr(other, rv, other, rv)
    assert total.item() == pytest.approx(2 * (.9 + .8 + .2) / 3)
    # no gradient flows into the other branch's CAM
    other.requires_grad_(True)
    rv.requires_grad_(True)
    ecr.one_direction(other, rv).backward()
    assert other.grad is None and rv.grad.abs().sum() > 0


def test_adaptive_min_pooling_by_hand():
    # max over classes per pixel: [.3, -.2, .8, .1]; the lowest quarter (1 pixel) is -.2 -> ReLU 0
    cam = torch.tensor([[.3, -.5, .8, .1], [.1, -.2, .2, 0.]]).view(1, 2, 2, 2)
    loss = AdaptiveMinPoolingLoss()
    assert loss(cam).item() == 0.0
    # half of the pixels: .1 and -.2 -> (.1 + 0) / 2
    assert AdaptiveMinPoolingLoss(ratio=0.5)(cam).item() == pytest.approx(0.05)
    # batch of two: the sum over images divided by k * n
    two = torch.cat([cam, cam + 1.0])
    assert AdaptiveMinPoolingLoss(ratio=0.5)(two).item() == pytest.approx(
        (0.1 + 0.0 + 1.1 + 0.8) / 4)
