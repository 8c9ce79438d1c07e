"""Spatial-BCE's losses against values worked out by hand and against a literal dense
transcription of the official formulas (allenwu97/Spatial-BCE loss_functions.py)."""
import math

import pytest
import torch

from mmseg_hfpl.losses import ForegroundRatioKLLoss, SpatialBCELoss
from mmseg_hfpl.losses.spatial_bce_loss import (foreground_quantile_threshold,
                                                foreground_ratio_kl, spatial_bce_network_loss,
                                                spatial_bce_threshold_loss)

P = torch.tensor([0.8, 0.6, 0.4, 0.2])


def two_class_scores():
    """One image, 4 pixels: class 0 (present) with sigmoid scores P, class 1 (absent) at 0.5."""
    return torch.stack([torch.logit(P), torch.zeros(4)]).view(1, 2, 2, 2)


def test_quantile_threshold_by_hand():
    prob = torch.tensor([0.1, 0.9, 0.5, 0.3, 0.7]).view(1, 1, 5)  # descending: .9 .7 .5 .3 .1
    for ratio, expected in ((0.0, 0.9), (0.39, 0.7), (0.4, 0.5), (0.99, 0.1), (1.0, 0.1)):
        got = foreground_quantile_threshold(prob, torch.tensor([[ratio]]))
        assert got.item() == pytest.approx(expected), ratio


def test_network_phase_loss_by_hand():
    score = two_class_scores().requires_grad_()
    label = torch.tensor([[1., 0.]])
    fg = torch.tensor([[0.5, 0.3]])
    loss = spatial_bce_network_loss(score, label, fg)
    # t = 3rd largest of (.8, .6, .4, .2) = .4; low: h(.4) = 1, h(.2) = 2*.5 - .25 = .75;
    # high: (1-p)(1-2t+p)/(1-t)^2 -> .2*1/.36 = 5/9 and .4*.8/.36 = 8/9; absent class: -log .5 x4
    expected = (1 + 0.75 + 5 / 9 + 8 / 9 + 4 * math.log(2)) / 8
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    grad = score.grad.view(2, 4)
    # d h_low / dp = 2/t - 2p/t^2 = 2.5 at p = .2, times dp/dx = .16, over 8 entries
    assert grad[0, 3].item() == pytest.approx(2.5 * 0.16 / 8, rel=1e-4)
    # the quantile threshold is detached: the pixel at p = t gets d h_low/dp(t) = 0 only
    assert grad[0, 2].item() == pytest.approx(0.0, abs=1e-6)
    # absent class: d(-log(1-p))/dx = p = .5, over 8
    torch.testing.assert_close(grad[1], torch.full((4, ), 0.5 / 8))


def test_threshold_phase_loss_by_hand_trains_only_the_threshold():
    score = two_class_scores().requires_grad_()
    thr = torch.full((1, 2, 3, 3), math.log(0.4 / 0.6), requires_grad=True)  # sigmoid -> 0.4
    label = torch.tensor([[1., 0.]])
    loss = spatial_bce_threshold_loss(score, label, thr)
    # mean of the low piece (1 + .75) / 2 plus mean of the high piece (5/9 + 8/9) / 2
    assert loss.item() == pytest.approx(1.75 / 2 + 13 / 18, rel=1e-5)
    loss.backward()
    assert score.grad is None
    # dL/dt: low: -2p/t^2 + 2p^2/t^3 -> 0 and -1.25 (mean -.625); high: (1-p)(-2/(1-t)^2 +
    # 2(1-2t+p)/(1-t)^3) -> 20/27 for both (mean 20/27); dt/ds = t(1-t) = .24 over 9 pixels
    d_t = -0.625 + 20 / 27
    torch.testing.assert_close(thr.grad[0, 0], torch.full((3, 3), d_t * 0.24 / 9))
    assert thr.grad[0, 1].abs().max() == 0  # the absent class has no pixels in either piece


def test_kl_by_hand():
    score = torch.stack([
        torch.full((1, 2, 2), math.log(1 / 3)),  # image 0: p = .25, labelled, prior .5
        torch.zeros(1, 2, 2),  # image 1: p = .5, labelled, prior .5 -> KL 0
    ])
    score = torch.cat([score, torch.randn(2, 1, 2, 2)], dim=1)  # class 1: absent everywhere
    label = torch.tensor([[1., 0.], [1., 0.]])
    fg = torch.tensor([[0.5, 0.0], [0.5, 0.9]])
    kl = foreground_ratio_kl(score, label, fg)
    expected = (0.75 * math.log(1.5) + 0.25 * math.log(0.5)) / 2  # divided by sum(y) = 2
    assert kl.item() == pytest.approx(expected, rel=1e-5)
    # a zero prior: m * log(m / 1e-10) on the foreground entry (official offset)
    kl0 = foreground_ratio_kl(score[:1, :1], label[:1, :1], torch.zeros(1, 1))
    assert kl0.item() == pytest.approx(0.75 * math.log(0.75) + 0.25 * math.log(0.25 / 1e-10),
                                       rel=1e-4)


def official_dense(x, y, fg, thr, threshold_phase):
    """The official Spatial_BCE_Loss + KLLoss written out densely (per-pixel masks, no tricks)."""
    b, c, h, w = x.shape
    p = torch.sigmoid(x.view(b, c, h * w))
    if not threshold_phase:
        ranked = p.sort(dim=2, descending=True)[0]
        t = torch.stack([torch.stack([ranked[i, j, int(fg[i, j].double() * h * w)]
                                      for j in range(c)]) for i in range(b)]).detach()
    else:
        t = torch.sigmoid(thr.view(b, c, -1).mean(2))
        p = p.detach()
    t = t.clamp(min=1e-4)[..., None].expand(b, c, h * w)
    yy = y[..., None].expand(b, c, h * w)
    low, high = ((p <= t) * yy).detach(), ((p > t) * yy).detach()
    h_low = (-(p ** 2) / t ** 2 + 2 * p / t) * low
    h_high = (1 / ((1 - t) ** 2).clamp(min=1e-8)) * (1 - p) * (1 - 2 * t + p) * high
    if not threshold_phase:
        sbce = (h_low + h_high - (1 - yy) * torch.log((1 - p).clamp(min=1e-8))).mean()
    else:
        sbce = h_low.sum() / low.sum() + h_high.sum() / high.sum()
    q = torch.sigmoid(x.view(b, c, h * w))
    m = torch.stack([1 - q, q], dim=2).mean(3)
    prior = torch.stack([1 - fg, fg], dim=2)
    kl = (torch.stack([y, y], 2) * m * torch.log((m / (prior + 1e-10)).clamp(min=1e-8))).sum(2)
    return sbce, kl.sum() / y.sum()


@pytest.mark.parametrize('threshold_phase', [False, True])
def test_modules_match_the_dense_official_formulas(threshold_phase):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, 6, generator=g) * 3
    thr = torch.randn(3, 4, 5, 6, generator=g)
    y = torch.tensor([[1., 0, 1, 0], [0, 1, 0, 0], [1, 1, 1, 1]])
    fg = torch.rand(3, 4, generator=g) * 0.8
    sbce = SpatialBCELoss(loss_weight=2.0)(x, y, fg, thr, threshold_phase=threshold_phase)
    kl = ForegroundRatioKLLoss(loss_weight=0.5)(x, y, fg)
    ref_sbce, ref_kl = official_dense(x, y, fg, thr, threshold_phase)
    torch.testing.assert_close(sbce, 2.0 * ref_sbce)
    torch.testing.assert_close(kl, 0.5 * ref_kl)


def test_bad_inputs_are_named():
    x, y = torch.zeros(2, 3, 4, 4), torch.ones(2, 3)
    with pytest.raises(ValueError, match='fg_ratio'):
        SpatialBCELoss()(x, y, torch.full((2, 2), 0.1))
    with pytest.raises(ValueError, match='fg_ratio'):
        ForegroundRatioKLLoss()(x, y, torch.full((2, 3), 1.5))
    with pytest.raises(ValueError, match='threshold_score'):
        SpatialBCELoss()(x, y, torch.full((2, 3), 0.1), None, threshold_phase=True)
    with pytest.raises(ValueError, match='label'):
        SpatialBCELoss()(x, torch.ones(2, 4), torch.full((2, 4), 0.1))
