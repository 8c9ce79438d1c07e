"""PMM's pretended under-fitting loss against values and gradients worked out by hand."""
import math

import pytest
import torch
from mmseg.registry import MODELS

from mmseg_hfpl.losses import PretendedUnderFittingLoss, pretended_underfitting


def two_class_logits(margins):
    """(1, 2, 1, P) logits whose pixel p has class-1 minus class-0 score ``margins[p]``; with
    label 1 everywhere, pixel p's CE is log(1 + exp(-margin))."""
    m = torch.tensor(margins, dtype=torch.float64)
    return torch.stack([torch.zeros_like(m), m]).view(1, 2, 1, -1).requires_grad_(True)


def ce(margin):
    return math.log1p(math.exp(-margin))


def test_plain_mean_before_the_switch_and_its_gradient():
    # CEs: log(1 + e^0) = .693, log(1 + e^1) = 1.313 -> mean 1.003 >= .5: PUF is off
    logits = two_class_logits([0.0, -1.0])
    label = torch.ones(1, 1, 2, dtype=torch.long)
    loss = PretendedUnderFittingLoss()(logits, label)
    assert loss.item() == pytest.approx((ce(0.0) + ce(-1.0)) / 2, abs=1e-12)
    loss.backward()
    # d CE / d logits = softmax - onehot = (1 - s(m), s(m) - 1), / 2 pixels
    p1 = torch.sigmoid(torch.tensor([0.0, -1.0], dtype=torch.float64))
    expected = torch.stack([1 - p1, p1 - 1]).view(1, 2, 1, 2) / 2
    torch.testing.assert_close(logits.grad, expected)


def test_clamp_after_the_switch_stops_the_gradient_of_hard_pixels():
    # CEs: .049 (margin 3), .018 (4), 1.313 (-1), .0067 (5): mean .347 < .5 -> clamp at .5
    margins = [3.0, 4.0, -1.0, 5.0]
    logits = two_class_logits(margins)
    label = torch.ones(1, 1, 4, dtype=torch.long)
    loss = PretendedUnderFittingLoss(mode='clamp', mean_threshold=0.5, k=0.5)(logits, label)
    expected = (ce(3.0) + ce(4.0) + 0.5 + ce(5.0)) / 4
    assert loss.item() == pytest.approx(expected, abs=1e-12)
    loss.backward()
    p1 = torch.sigmoid(torch.tensor(margins, dtype=torch.float64))
    grad = torch.stack([1 - p1, p1 - 1]) / 4
    grad[:, 2] = 0  # the clamped (likely mislabelled) pixel no longer pushes
    torch.testing.assert_close(logits.grad, grad.view(1, 2, 1, 4))


def test_the_switch_is_decided_per_call_on_the_mean():
    # the same hard pixel next to easy ones: clamped only when the batch mean is below .5
    hard = two_class_logits([-1.0, 0.0])
    loss = PretendedUnderFittingLoss()(hard, torch.ones(1, 1, 2, dtype=torch.long))
    assert loss.item() == pytest.approx((ce(-1.0) + ce(0.0)) / 2, abs=1e-12)  # 1.003, off
    easy = two_class_logits([-1.0, 6.0, 6.0, 6.0])
    loss = PretendedUnderFittingLoss()(easy, torch.ones(1, 1, 4, dtype=torch.long))
    assert loss.item() == pytest.approx((0.5 + 3 * ce(6.0)) / 4, abs=1e-12)  # mean .33, on


def test_ignored_pixels_count_as_zero_in_the_switch_and_the_mean():
    # CEs 1.313 and 0 (ignored), 0, 0 -> mean .328 < .5 with the ignored pixels counted
    logits = two_class_logits([-1.0, -7.0, 20.0, 20.0])
    label = torch.tensor([1, 255, 1, 1]).view(1, 1, 4)
    loss = PretendedUnderFittingLoss()(logits, label, ignore_index=255)
    assert loss.item() == pytest.approx((0.5 + 2 * ce(20.0)) / 4, abs=1e-12)


def test_other_modes_weight_avg_factor_and_sum():
    pixel = torch.tensor([0.04, 0.9, 0.2, 0.1])  # mean .31 < .5
    torch.testing.assert_close(pretended_underfitting(pixel, 'pow', 0.5, 0.5),
                               (pixel + 1e-9).sqrt())
    torch.testing.assert_close(pretended_underfitting(pixel, 'ignore', 0.5, 0.5),
                               torch.tensor([0.04, 0.0, 0.2, 0.1]))
    torch.testing.assert_close(pretended_underfitting(pixel, 'clamp', 0.3, 0.5), pixel)  # off
    logits = two_class_logits([3.0, -1.0])  # CEs .049, 1.313: mean .68, PUF off
    label = torch.ones(1, 1, 2, dtype=torch.long)
    weight = torch.tensor([2.0, 1.0], dtype=torch.float64).view(1, 1, 2)
    loss = PretendedUnderFittingLoss(loss_weight=0.4)(logits, label, weight=weight,
                                                       avg_factor=3.0)
    assert loss.item() == pytest.approx(0.4 * (2 * ce(3.0) + ce(-1.0)) / 3, abs=1e-12)
    loss = PretendedUnderFittingLoss(reduction='sum')(logits, label)
    assert loss.item() == pytest.approx(ce(3.0) + ce(-1.0), abs=1e-12)


def test_registry_name_and_bad_input():
    loss = MODELS.build(dict(type='PretendedUnderFittingLoss', loss_weight=0.4))
    assert loss.loss_name == 'loss_puf' and loss.k == 0.5 and loss.mean_threshold == 0.5
    with pytest.raises(ValueError, match='mode'):
        PretendedUnderFittingLoss(mode='square')
    with pytest.raises(ValueError, match=r'label \(B, H, W\)'):
        loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 4, 4, dtype=torch.long))
