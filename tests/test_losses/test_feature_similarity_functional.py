import math

import pytest
import torch

from mmseg_hfpl.losses.functional import pair_block_elements, pairwise_feature_similarity
from mmseg_hfpl.losses.reference import dense_feature_similarity


def _f(delta, mu=2.5):  # eq. 12 with the official epsilon
    return math.tanh(mu + math.log((delta + 1e-5) / (1 - delta + 1e-5)))


def _w(d2, sigma=5.0):  # eq. 10
    return math.exp(-d2 / (2 * sigma**2)) / (2 * math.pi * sigma**2)


@pytest.mark.parametrize('shape', [(1, 1, 3, 3), (2, 4, 5, 7), (3, 21, 6, 9), (2, 3, 17, 4)])
def test_equals_official_formulation(shape):
    b, k, h, w = shape
    gen = torch.Generator().manual_seed(h * 100 + w)
    image = torch.rand(b, 3, h, w, generator=gen, dtype=torch.float64) * 1.2 - 0.1
    gated = torch.rand(b, k, h, w, generator=gen, dtype=torch.float64).requires_grad_()
    fast = pairwise_feature_similarity(image, gated)
    ref = dense_feature_similarity(image, gated)
    (g_fast, ) = torch.autograd.grad(fast, gated)
    (g_ref, ) = torch.autograd.grad(ref, gated)
    assert fast.item() == pytest.approx(ref.item(), rel=1e-6, abs=1e-14)
    assert torch.allclose(g_fast, g_ref, rtol=1e-6, atol=1e-6 * g_ref.abs().max().item())


def test_hand_computed_two_by_two():
    # 2x2 image: left column black, right column white; one channel, 1 on the left, 0 on the right
    image = torch.tensor([[0., 1.], [0., 1.]], dtype=torch.float64).expand(1, 3, 2, 2)
    gated = torch.tensor([[[[1., 0.], [1., 0.]]]], dtype=torch.float64)
    total = 0.0
    pix = [(r, c) for r in range(2) for c in range(2)]
    for (ri, ci) in pix:
        for (rj, cj) in pix:
            delta = abs(ci - cj) * 1.0  # colours differ by 1 in all three channels: L1 / 3 = 1
            g = 0.5 * (gated[0, 0, ri, ci] - gated[0, 0, rj, cj]).item()**2
            total += _w((ri - rj)**2 + (ci - cj)**2) * g * _f(delta)
    expected = -total / (1 * 2 * 2)
    value = pairwise_feature_similarity(image, gated).item()
    assert value == pytest.approx(expected, rel=1e-12)
    # dissimilar pixels with different predictions: a negative loss (f ~ +1 pushes apart)
    assert value < 0


def test_hand_computed_three_by_one_similar_colours():
    # 3x1 strip of one colour: every pair is similar (f(0) ~ -1), so differing predictions cost
    image = torch.full((1, 3, 3, 1), 0.4, dtype=torch.float64)
    gated = torch.tensor([0., 0.5, 1.], dtype=torch.float64).view(1, 1, 3, 1)
    f0 = _f(0.0)
    total = 0.0
    for i in range(3):
        for j in range(3):
            total += _w((i - j)**2) * 0.5 * (gated.flatten()[i] - gated.flatten()[j]).item()**2 * f0
    value = pairwise_feature_similarity(image, gated).item()
    assert value == pytest.approx(-total / 3, rel=1e-12)
    assert value > 0


def test_equal_predictions_have_zero_gradient():
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 6, 5, generator=gen, dtype=torch.float64)
    gated = torch.full((2, 3, 6, 5), 0.7, dtype=torch.float64, requires_grad=True)
    loss = pairwise_feature_similarity(image, gated)
    (grad, ) = torch.autograd.grad(loss, gated)
    assert loss.item() == 0.0
    assert grad.abs().max().item() == 0.0


def test_gradient_only_through_gated_and_parameters():
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, 5, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    gated = torch.rand(1, 2, 5, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    loss = pairwise_feature_similarity(image, gated, mu, sigma)
    loss.backward()
    assert image.grad is None
    ref = dense_feature_similarity(image.detach(), gated.detach(), mu.detach().requires_grad_(),
                                   sigma.detach().requires_grad_())
    d_mu, d_sigma = torch.autograd.grad(
        dense_feature_similarity(image.detach(), gated.detach(), mu, sigma), [mu, sigma])
    assert ref.item() == pytest.approx(loss.item(), rel=1e-9)
    # the analytic parameter gradients equal autograd through the dense formulation
    assert mu.grad.item() == pytest.approx(d_mu.item(), rel=1e-9)
    assert sigma.grad.item() == pytest.approx(d_sigma.item(), rel=1e-9)
    # and a central finite difference
    eps = 1e-6
    f_plus = pairwise_feature_similarity(image.detach(), gated.detach(), 2.5 + eps, 5.0)
    f_minus = pairwise_feature_similarity(image.detach(), gated.detach(), 2.5 - eps, 5.0)
    assert mu.grad.item() == pytest.approx(((f_plus - f_minus) / (2 * eps)).item(), rel=1e-5)


def test_float32_matches_float64_reference():
    gen = torch.Generator().manual_seed(2)
    image = torch.rand(2, 3, 24, 24, generator=gen)
    gated = torch.rand(2, 21, 24, 24, generator=gen, requires_grad=True)
    value = pairwise_feature_similarity(image, gated)
    (grad, ) = torch.autograd.grad(value, gated)
    gated64 = gated.detach().double().requires_grad_()
    ref = dense_feature_similarity(image.double(), gated64)
    (g_ref, ) = torch.autograd.grad(ref, gated64)
    assert value.item() == pytest.approx(ref.item(), rel=1e-5)
    assert (grad.double() - g_ref).abs().max().item() <= 1e-5 * g_ref.abs().max().item()


def assert_matches_dense(image, gated, mu, sigma, block_elements):
    """Value and gradients (gated, mu, sigma) of the blockwise loss equal the dense form's
    (float64 inputs)."""
    value = pairwise_feature_similarity(image, gated, mu, sigma, block_elements=block_elements)
    grads = torch.autograd.grad(value, [gated, mu, sigma])
    ref = dense_feature_similarity(image, gated, mu, sigma)
    ref_grads = torch.autograd.grad(ref, [gated, mu, sigma])
    assert value.item() == pytest.approx(ref.item(), rel=1e-12)
    assert torch.allclose(grads[0], ref_grads[0], rtol=1e-10, atol=1e-12)
    assert grads[1].item() == pytest.approx(ref_grads[1].item(), rel=1e-10)
    assert grads[2].item() == pytest.approx(ref_grads[2].item(), rel=1e-10)


@pytest.mark.parametrize('block_elements', [1, 40, 700, 1 << 20])
def test_block_sizes_and_batched_images_give_the_same_values(block_elements):
    # 1: one image row of one image per block (the per-image path); 1 << 20: every image and row
    # in one block (the batched path used on CUDA); the others mix both along the triangle
    gen = torch.Generator().manual_seed(3)
    image = torch.rand(3, 3, 7, 6, generator=gen, dtype=torch.float64)
    gated = torch.rand(3, 4, 7, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(5.0, dtype=torch.float64, requires_grad=True)
    assert_matches_dense(image, gated, mu, sigma, block_elements)


def test_absent_classes_are_skipped_exactly():
    # zeroed (absent) channels and a constant one: left out of the pairwise products, their
    # gradient is exactly 0 and the value is that of the dense formulation
    gen = torch.Generator().manual_seed(4)
    image = torch.rand(2, 3, 6, 8, generator=gen, dtype=torch.float64)
    gated = torch.rand(2, 5, 6, 8, generator=gen, dtype=torch.float64)
    gated[:, 1] = 0.0
    gated[:, 3] = 0.25
    gated[0, 4] = 0.0  # absent from one image only: kept for the batch
    gated.requires_grad_()
    value = pairwise_feature_similarity(image, gated)
    (grad, ) = torch.autograd.grad(value, gated)
    gated_ref = gated.detach().clone().requires_grad_()
    ref = dense_feature_similarity(image, gated_ref)
    (g_ref, ) = torch.autograd.grad(ref, gated_ref)
    assert value.item() == pytest.approx(ref.item(), rel=1e-12)
    assert grad[:, 1].abs().max().item() == 0.0
    assert grad[:, 3].abs().max().item() == 0.0
    assert grad[0, 4].abs().max().item() == 0.0
    assert torch.allclose(grad, g_ref, rtol=1e-10, atol=1e-14)
    everything_absent = pairwise_feature_similarity(image, torch.zeros(2, 3, 6, 8,
                                                                       dtype=torch.float64))
    assert everything_absent.item() == 0.0


def test_block_size_of_the_cpu_is_a_cache_sized_budget():
    from mmseg_hfpl.losses.functional import _cpu_cache_bytes
    assert _cpu_cache_bytes() >= 1 << 16
    assert pair_block_elements(torch.device('cpu')) == max(1 << 14, _cpu_cache_bytes() // 8)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='image'):
        pairwise_feature_similarity(torch.rand(1, 4, 3, 3), torch.rand(1, 2, 3, 3))
    with pytest.raises(ValueError, match='gated'):
        pairwise_feature_similarity(torch.rand(1, 3, 3, 3), torch.rand(1, 2, 4, 3))
    with pytest.raises(ValueError, match='block_elements'):
        pairwise_feature_similarity(torch.rand(1, 3, 3, 3), torch.rand(1, 2, 3, 3),
                                    block_elements=0)


@pytest.mark.parametrize('block_elements', [None, 500])
def test_pairs_beyond_the_gaussian_reach_are_negligible(block_elements):
    # sigma = 1.5: pairs farther apart than 8.9 sigma = 13.4 px (weight < e^-40 of the peak) are
    # left out of the kernel; over a 22 x 25 image most pairs are, and the value and every
    # gradient still equal the dense formulation over all pairs to float64 rounding
    from mmseg_hfpl.losses.functional import WEIGHT_CUT
    assert 1.5 * math.sqrt(2 * WEIGHT_CUT) < 14
    gen = torch.Generator().manual_seed(5)
    image = torch.rand(2, 3, 22, 25, generator=gen, dtype=torch.float64)
    image[:, :, :, 12:] = 1.0 - image[:, :, :, 12:].round()  # saturated colours: q up to 1e12
    gated = torch.rand(2, 5, 22, 25, generator=gen, dtype=torch.float64, requires_grad=True)
    mu = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    assert_matches_dense(image, gated, mu, sigma, block_elements)


def test_float32_blocks_hold_no_subnormal_numbers():
    # far pairs would give weights of 1e-38 and below (subnormal in float32, ~100x slower per
    # operation on Intel processors); the kernel's Gaussian factors hold zeros there instead
    from mmseg_hfpl.losses.functional import _gaussian_factors
    tiny = torch.finfo(torch.float32).tiny
    for sigma in (1.0, 5.0, 20.0):
        dr2, dc2, gr, gc = _gaussian_factors(120, 300, sigma, 'cpu', torch.float32)
        for g in (gr, gc):
            assert ((g == 0) | (g >= math.exp(-40.0) * (1 - 1e-6))).all()
            assert not ((g != 0) & (g.abs() < tiny)).any()
        assert gc[0, 0] == 1.0 and gc[0, 299] == 0.0


def test_cpu_threads_split_the_blocks_and_keep_the_thread_count():
    # with T torch threads the blocks run in T threads of 1-thread operations: one image per task
    # (T <= B) or every T-th row block per thread (T > B); the result is the dense one, the same
    # on every call, and torch's thread count is T again afterwards
    gen = torch.Generator().manual_seed(6)
    image = torch.rand(2, 3, 9, 7, generator=gen, dtype=torch.float64)
    gated = torch.rand(2, 4, 9, 7, generator=gen, dtype=torch.float64)
    mu = torch.tensor(2.5, dtype=torch.float64)
    sigma = torch.tensor(5.0, dtype=torch.float64)
    ref_args = [t.clone().requires_grad_() for t in (gated, mu, sigma)]
    ref = dense_feature_similarity(image, *ref_args)
    ref_grads = torch.autograd.grad(ref, ref_args)
    before = torch.get_num_threads()
    try:
        for threads in (3, 2, 1):
            torch.set_num_threads(threads)
            runs = []
            for _ in range(2):
                args = [t.clone().requires_grad_() for t in (gated, mu, sigma)]
                value = pairwise_feature_similarity(image, *args, block_elements=60)
                runs.append((value, *torch.autograd.grad(value, args)))
                assert torch.get_num_threads() == threads
            for a, b in zip(*runs):
                assert torch.equal(a, b)
            assert runs[0][0].item() == pytest.approx(ref.item(), rel=1e-12)
            for g, g_ref in zip(runs[0][1:], ref_grads):
                assert torch.allclose(g, g_ref, rtol=1e-10, atol=1e-12)
    finally:
        torch.set_num_threads(before)


def test_the_compiled_block_products_are_the_interpreted_ones_bit_for_bit():
    # TorchScript compiles the block loop (no interpreter lock in the CPU threads); it runs the
    # same operations in the same order as the Python function, so the sums are identical
    from mmseg_hfpl.losses.functional import _block_products, _compiled_block_products
    compiled = _compiled_block_products()
    assert isinstance(compiled, torch.jit.ScriptFunction)  # TorchScript of the pinned torch
    gen = torch.Generator().manual_seed(6)
    h, w, images, k1 = 9, 7, 3, 5
    n = h * w
    y1 = torch.rand(images, k1, n, generator=gen)
    colour = torch.rand(3, images, n, generator=gen) / 3
    dr2 = (torch.arange(h)[:, None] - torch.arange(h)[None]).float().square()
    dc2 = (torch.arange(w)[:, None] - torch.arange(w)[None]).float().square()
    gr, gc = (-dr2 / 8).exp(), (-dc2 / 8).exp()
    blocks = [[0, 2, 6, 2], [2, 5, 9, 3], [5, 9, 9, 1]]  # [r0, r1, r2, images per block]
    size = max(c * (r1 - r0) * w * (r2 - r0) * w for r0, r1, r2, c in blocks)
    outs = []
    for fn in (compiled, _block_products):
        acc = torch.zeros(3, images, k1, n)
        fn(acc, y1, colour, gr, gc, dr2, dc2, blocks, w, 1e-9, math.exp(5.0), 2.0, True, True,
           size, 1e-5)
        outs.append(acc)
    assert outs[0].abs().sum() > 0 and torch.equal(outs[0], outs[1])
