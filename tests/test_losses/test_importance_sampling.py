import math

import pytest
import torch
import torch.nn.functional as F

from mmseg_hfpl.losses.functional import (expected_importance_sampling_loss,
                                          importance_sampling_loss)


def _scores(seed=0, shape=(2, 3, 4, 5)):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * 2


def test_one_pixel_maps_are_exact():
    # with h = w = 1 every draw picks the only pixel: ISL = BCE(sigmoid(s), y) (eq. 8)
    s = torch.tensor([[1.5, -0.5, 0.2]], dtype=torch.float64).view(1, 3, 1, 1)
    y = torch.tensor([[1., 0., 1.]], dtype=torch.float64)
    value = importance_sampling_loss(s, y, num_samples=4)
    sig = [1 / (1 + math.exp(-v)) for v in (1.5, -0.5, 0.2)]
    expected = -(math.log(sig[0]) + math.log(1 - sig[1]) + math.log(sig[2])) / 3
    assert value.item() == pytest.approx(expected, rel=1e-12)


def test_hand_computed_two_pixel_expectation():
    # two pixels, scores 0 and log(3): b = 1/2 and 3/4, sampled with probability 2/5 and 3/5
    s = torch.tensor([0.0, math.log(3.0)], dtype=torch.float64)
    s = s.view(1, 1, 1, 2)
    y = torch.ones(1, 1, dtype=torch.float64)
    p0, p1 = (0.5 + 1e-5) / (1.25 + 2e-5), (0.75 + 1e-5) / (1.25 + 2e-5)
    expected = p0 * -math.log(0.5) + p1 * -math.log(0.75)
    assert expected_importance_sampling_loss(s, y).item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('posterior', ['binomial', 'multinomial'])
def test_average_over_draws_converges_to_expectation(posterior):
    s = _scores(3)
    y = torch.tensor([[1., 0., 1.], [0., 1., 0.]], dtype=torch.float64)
    exact = expected_importance_sampling_loss(s, y, posterior=posterior).item()
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([
        importance_sampling_loss(s, y, num_samples=50, posterior=posterior, generator=gen)
        for _ in range(400)
    ])
    mean, sem = draws.mean().item(), draws.std().item() / 20
    assert abs(mean - exact) < 4 * sem + 1e-9
    assert sem < 0.05 * exact  # the check is tight enough to mean something


def test_multinomial_hand_computed_one_pixel():
    # softmax over [bg, s1, s2] at one pixel; BCE on the probabilities (eqs. 5, 7, 8)
    s = torch.tensor([1.0, -1.0], dtype=torch.float64).view(1, 2, 1, 1)
    bg = torch.tensor([0.5], dtype=torch.float64).view(1, 1, 1, 1)
    y = torch.tensor([[1., 0.]], dtype=torch.float64)
    a = torch.softmax(torch.tensor([0.5, 1.0, -1.0], dtype=torch.float64), 0)
    expected = -(torch.log(a[1]) + torch.log(1 - a[2])).item() / 2
    value = importance_sampling_loss(s, y, num_samples=3, posterior='multinomial', bg_score=bg)
    assert value.item() == pytest.approx(expected, rel=1e-12)


def test_gradient_flows_only_through_sampled_scores():
    s = _scores(5, (1, 2, 3, 3)).requires_grad_()
    y = torch.tensor([[1., 0.]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    loss = importance_sampling_loss(s, y, num_samples=2, generator=gen)
    (grad, ) = torch.autograd.grad(loss, s)
    # redraw the same indices and form the gradient by hand: d BCE / d s = sigmoid(s) - y,
    # averaged over classes and samples; all other pixels get nothing
    gen = torch.Generator().manual_seed(7)
    weights = torch.sigmoid(s.detach()).reshape(2, 9) + 1e-5
    index = torch.multinomial(weights, 2, replacement=True, generator=gen)
    expected = torch.zeros(2, 9, dtype=torch.float64)
    for c in range(2):
        for i in index[c]:
            expected[c, i] += (torch.sigmoid(s.detach()).reshape(2, 9)[c, i] - y[0, c]) / 4
    assert torch.allclose(grad.reshape(2, 9), expected, atol=1e-15)
    assert (grad.reshape(2, 9) != 0).sum() <= 4


def test_reproducible_under_seed_and_stable_when_saturated():
    s = _scores(2)
    y = torch.tensor([[1., 0., 1.], [0., 1., 0.]], dtype=torch.float64)
    torch.manual_seed(123)
    first = importance_sampling_loss(s, y)
    torch.manual_seed(123)
    assert importance_sampling_loss(s, y).item() == first.item()
    for fill in (-1e4, 0.0, 1e4):  # all-zero posteriors, flat maps, saturated maps
        s_fill = torch.full((2, 3, 4, 5), fill, requires_grad=True)
        for posterior in ('binomial', 'multinomial'):
            value = importance_sampling_loss(s_fill, y.float(), posterior=posterior)
            (grad, ) = torch.autograd.grad(value, s_fill)
            assert torch.isfinite(value) and torch.isfinite(grad).all()


def test_gap_loss_equals_soft_margin_of_mean_scores():
    from mmseg_hfpl.losses.functional import gap_bce_loss
    s = _scores(4)
    y = torch.tensor([[1., 0., 1.], [0., 1., 0.]], dtype=torch.float64)
    ref = F.multilabel_soft_margin_loss(F.adaptive_avg_pool2d(s, 1).flatten(1), y)
    assert gap_bce_loss(s, y).item() == pytest.approx(ref.item(), rel=1e-12)
