"""Functional core of the add-on losses: plain tensor functions, each citing its equation.

The registered loss modules (``importance_sampling_loss.py``, ``gap_loss.py``,
``feature_similarity_loss.py``) only read their configuration and call these functions.
"""
import functools
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

# The official hfpl code adds this epsilon before sampling and inside the log of eq. 12.
EPS = 1e-5


# --------------------------------------------------------------------------- input checks
class NonFiniteScoreError(FloatingPointError, ValueError):
    """The class scores reaching a loss hold NaN / Inf (the model diverged). Its
    :attr:`loss_name` names the loss; :class:`~mmseg_hfpl.engine.HFPLRunner` turns it into
    the :class:`~mmseg_hfpl.engine.NonFiniteLossError` of every diverged training (loss term,
    iteration, learning rate)."""

    def __init__(self, message: str, loss_name: str = '') -> None:
        super().__init__(message)
        self.loss_name = loss_name


def check_score_and_label(cls_score: Tensor, label: Tensor, loss_name: str = '') -> None:
    """Raise a ``ValueError`` naming the tensor when scores or labels are malformed
    (:class:`NonFiniteScoreError` for NaN / Inf scores; ``loss_name``: the loss they reach)."""
    if cls_score.dim() != 4:
        raise ValueError(f'cls_score must be (B, C, h, w), got shape {tuple(cls_score.shape)}')
    if label.dim() != 2 or label.shape != cls_score.shape[:2]:
        raise ValueError(f'label must be (B, C) = {tuple(cls_score.shape[:2])} to match cls_score, '
                         f'got shape {tuple(label.shape)}')
    if not bool(torch.isfinite(cls_score).all()):
        of = f' of {loss_name}' if loss_name else ''
        raise NonFiniteScoreError(f'cls_score{of} contains non-finite values (NaN or Inf)',
                                  loss_name)
    if not bool(((label == 0) | (label == 1)).all()):
        raise ValueError('label must hold only 0 and 1 (multi-hot image-level labels)')


# --------------------------------------------------------------------------- CAM normalisations
def max_norm(cls_score: Tensor, eps: float = EPS, subtract_min: bool = False) -> Tensor:
    """Max-normalised CAM ``r`` (eq. 4): ReLU(s) / max ReLU(s), per image and channel.

    ``subtract_min=True`` gives the min-max variant of SEAM's ``visualization.max_norm``
    (``ReLU(p - min - eps) / (max - min + eps)`` on ``p = ReLU(s)``), used by the official code.
    """
    cam = F.relu(cls_score)
    flat = cam.flatten(2)
    max_v = flat.max(dim=2)[0][..., None, None]
    if subtract_min:
        min_v = flat.min(dim=2)[0][..., None, None]
        return F.relu(cam - min_v - eps) / (max_v - min_v + eps)
    return cam / (max_v + eps)


def with_background_channel(fg: Tensor) -> Tensor:
    """Prepend the background channel ``1 - max_c`` of normalised class maps (B, C, h, w), as the
    baselines derive a background from ``r`` (eq. 4)."""
    return torch.cat([1.0 - fg.max(dim=1, keepdim=True)[0], fg], dim=1)


def multinomial_posterior(cls_score: Tensor, bg_score: Optional[Tensor] = None) -> Tensor:
    """Softmax posterior ``a`` (eq. 5) over [background, classes]; returns (B, 1 + C, h, w).

    Without a background score map the background logit is the constant 0, which makes the
    one-class case coincide with the sigmoid.
    """
    if bg_score is None:
        bg_score = cls_score.new_zeros(cls_score[:, :1].shape)
    return torch.softmax(torch.cat([bg_score, cls_score], dim=1), dim=1)


# --------------------------------------------------------------------------- ISL (eqs. 14-18)
def importance_sampling_loss(cls_score: Tensor,
                             label: Tensor,
                             num_samples: int = 10,
                             posterior: str = 'binomial',
                             bg_score: Optional[Tensor] = None,
                             generator: Optional[torch.Generator] = None) -> Tensor:
    """Multi-sample importance sampling loss, averaged over batch, classes and samples.

    Args:
        cls_score: class score maps ``s`` (B, C, h, w), foreground classes only.
        label: image-level multi-hot labels ``y`` (B, C).
        num_samples: pixels drawn per image and class, with replacement (``N`` of eq. 18).
        posterior: ``'binomial'`` (sigmoid, eq. 14) or ``'multinomial'`` (softmax, eq. 5).
        bg_score: optional background score map (B, 1, h, w) for the multinomial posterior.
        generator: optional random generator for the pixel draws.
    """
    b, c, h, w = cls_score.shape
    if posterior == 'binomial':
        prob = torch.sigmoid(cls_score)  # eq. 14
    elif posterior == 'multinomial':
        prob = multinomial_posterior(cls_score, bg_score)[:, 1:]  # eq. 5
    else:
        raise ValueError(f"posterior must be 'binomial' or 'multinomial', got {posterior!r}")
    # eq. 15 (eq. 6): pixel distribution proportional to the posterior; no gradient through it
    weights = prob.detach().reshape(b * c, h * w) + EPS
    index = torch.multinomial(weights, num_samples, replacement=True, generator=generator)
    target = label.to(cls_score.dtype).reshape(b * c, 1).expand(-1, num_samples)
    if posterior == 'binomial':
        # eqs. 8 + 18 on sigmoid(s) at the drawn pixels, computed from the logits for stability
        sampled = cls_score.reshape(b * c, h * w).gather(1, index)
        return F.binary_cross_entropy_with_logits(sampled, target)
    sampled = prob.reshape(b * c, h * w).gather(1, index)  # eq. 7
    return F.binary_cross_entropy(sampled, target)  # eqs. 8 + 18


def expected_importance_sampling_loss(cls_score: Tensor,
                                      label: Tensor,
                                      posterior: str = 'binomial',
                                      bg_score: Optional[Tensor] = None) -> Tensor:
    """Exact expectation of :func:`importance_sampling_loss` over the draws (eqs. 15 + 8)."""
    b, c, h, w = cls_score.shape
    if posterior == 'binomial':
        prob = torch.sigmoid(cls_score)
        target = label.to(cls_score.dtype)[..., None, None].expand_as(cls_score)
        bce = F.binary_cross_entropy_with_logits(cls_score, target, reduction='none')
    else:
        prob = multinomial_posterior(cls_score, bg_score)[:, 1:]
        target = label.to(cls_score.dtype)[..., None, None].expand_as(prob)
        bce = F.binary_cross_entropy(prob, target, reduction='none')
    weights = prob.detach().flatten(2) + EPS
    weights = weights / weights.sum(dim=2, keepdim=True)
    return (weights * bce.flatten(2)).sum(dim=2).mean()


# --------------------------------------------------------------------------- GAP loss (eq. 17)
def gap_bce_loss(cls_score: Tensor, label: Tensor) -> Tensor:
    """BCE on the image-level GAP score (eqs. 3 + 17), averaged over batch and classes.

    ``S_c`` is the spatial mean of ``s_c`` (as in the baselines' ``adaptive_avg_pool2d``).
    """
    return F.binary_cross_entropy_with_logits(cls_score.mean(dim=(2, 3)), label.to(cls_score.dtype))


# --------------------------------------------------------------------------- FSL (eqs. 9-13)
# Pairs whose Gaussian weight (eq. 10) is below e^-WEIGHT_CUT of its peak, i.e. farther apart
# than sigma * sqrt(2 * WEIGHT_CUT) = 8.9 sigma, are left out of the pairwise part M of the FSL
# kernel: in 2-D their whole share of the weight mass is exp(-WEIGHT_CUT) = 4e-18, below float64
# rounding, and in float32 their weights fall to subnormal numbers (1e-38 and below) that cost
# ~100 cycles per operation on Intel processors (4x the time of the whole loss at 112^2).
WEIGHT_CUT = 40.0


def _gaussian_factors(h: int, w: int, sigma: float, device, dtype):
    """Separable factors of eq. 10: ``w_ij = g(r_i - r_j) g(c_i - c_j) / (2 pi sigma^2)``, with
    ``g`` set to 0 where it is below ``exp(-WEIGHT_CUT)`` (beyond the Gaussian's reach)."""
    dr = torch.arange(h, device=device, dtype=dtype)
    dc = torch.arange(w, device=device, dtype=dtype)
    dr2 = (dr[:, None] - dr[None]).square()
    dc2 = (dc[:, None] - dc[None]).square()
    cut = math.exp(-WEIGHT_CUT)
    return dr2, dc2, *(F.threshold((d2 * (-0.5 / sigma ** 2)).exp(), cut, 0.0, inplace=True)
                       for d2 in (dr2, dc2))


def _separable_laplacian(y: Tensor, gr: Tensor, gc: Tensor, h: int, w: int) -> Tensor:
    """``(D - G) y`` for the separable kernel ``G = gr (x) gc`` on (B, K, n) predictions."""
    b, k, n = y.shape
    gy = (gr @ y.reshape(b, k, h, w) @ gc.T).reshape(b, k, n)
    deg = torch.outer(gr.sum(1), gc.sum(1)).reshape(1, 1, n)
    return deg * y - gy


@functools.lru_cache(maxsize=None)
def _cpu_cache_bytes() -> int:
    """Per-core L2 cache size the kernel reports (Linux sysfs), 1 MiB when it reports none."""
    root = '/sys/devices/system/cpu/cpu0/cache'
    try:
        for entry in sorted(os.listdir(root)):
            with open(os.path.join(root, entry, 'level')) as f:
                if f.read().strip() != '2':
                    continue
            with open(os.path.join(root, entry, 'size')) as f:
                text = f.read().strip().upper()
            scale = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}.get(text[-1:], 1)
            return int(text.rstrip('KMG')) * scale
    except (OSError, ValueError):
        pass
    return 1 << 20


def pair_block_elements(device: torch.device) -> int:
    """Pixel-pair entries the FSL kernel holds per block on ``device``.

    On CPU one block of 4-byte entries fills half the per-core L2 cache (2^18 entries on a
    2 MiB L2), so that the elementwise chain and the product's packed copy stay in cache:
    measured on a 2-core Intel Xeon (2 MiB L2), 2^16 to 2^18 entries ran alike and 2^19 (the
    whole L2) 30 % slower at 112^2; on a 2-core AMD EPYC 2^16 to 2^21 ran within noise. An image
    row that exceeds it is one block, and images share a block once their remaining rows are
    short. On CUDA a block holds the pairs of all images of the batch (one kernel call per
    operation and block) up to 2^26 entries, and at most 1/32 of the free memory in bytes (a few
    block-sized float buffers are alive at once).
    """
    device = torch.device(device)
    if device.type == 'cuda':
        free, _ = torch.cuda.mem_get_info(device)
        return int(max(1 << 20, min(1 << 26, free // 32)))
    return max(1 << 14, _cpu_cache_bytes() // 8)


def _block_products(acc: Tensor, y1: Tensor, colour: Tensor, gr_n: Tensor, gc: Tensor,
                    dr2: Tensor, dc2: Tensor, blocks: List[List[int]], w: int, cut: float,
                    a_coef: float, sigma: float, need_mu: bool, need_sigma: bool,
                    buffer_size: int, eps: float) -> Tensor:
    """Adds ``P y1`` for every pairwise kernel ``P`` (``M``, then ``M / q`` when ``need_mu``
    and ``M * (d^2 / s^3 - 2 / s)`` when ``need_sigma``) of a chunk of images to ``acc``.

    ``acc`` (num, B', K+1, n), ``y1`` (B', K+1, n) and ``colour`` (3, B', n) hold the chunk;
    each block ``[r0, r1, r2, chunk]`` pairs the image rows [r0, r1) with the rows [r0, r2)
    within the Gaussian's reach (the upper triangle of the symmetric band; the rest is its
    transpose), ``chunk`` images at a time, in six preallocated flat buffers of
    ``buffer_size`` entries. Plain tensor code that TorchScript compiles as it is
    (:func:`_compiled_block_products`), so that on CPU each thread runs its images without the
    interpreter lock.
    """
    flat = torch.empty(6, buffer_size, dtype=y1.dtype, device=y1.device)
    one = torch.ones((), dtype=y1.dtype, device=y1.device)
    images = y1.shape[0]
    for block in blocks:
        r0, r1, r2, chunk = block[0], block[1], block[2], block[3]
        start, stop, end = r0 * w, r1 * w, r2 * w
        rows, cols = stop - start, end - start
        size = rows * cols
        weight = flat[0, :size].view(r1 - r0, w, r2 - r0, w)  # eq. 10, in place
        torch.mul(gr_n[r0:r1, None, r0:r2, None], gc[None, :, None, :], out=weight)
        weight = F.threshold_(weight.view(rows, cols), cut, 0.0)
        dlog = flat[1, :size].view(rows, cols)
        if need_sigma:
            torch.add(dr2[r0:r1, None, r0:r2, None], dc2[None, :, None, :],
                      out=flat[1, :size].view(r1 - r0, w, r2 - r0, w))
            dlog.div_(sigma ** 3).sub_(2.0 / sigma)
        for b0 in range(0, images, chunk):
            b1 = min(images, b0 + chunk)
            shape = [b1 - b0, rows, cols]
            e = flat[2, :(b1 - b0) * size].view(shape)
            t = flat[3, :(b1 - b0) * size].view(shape)
            # eq. 13 (+ eps): e = delta + eps, the L1 distance as three abs-differences
            for c in range(3):
                out = e if c == 0 else t
                torch.sub(colour[c, b0:b1, start:stop, None], colour[c, b0:b1, None, start:end],
                          out=out).abs_()
                if c > 0:
                    e.add_(t)
            e.add_(eps)
            # eq. 12: with -z = e / (e - 1 - 2 eps), q = 1 + A z^2 and f = 1 - 2 / q
            torch.div(e, torch.sub(e, 1.0 + 2.0 * eps, out=t), out=t)
            q = torch.addcmul(one, t, t, value=a_coef, out=e)
            pair = [torch.div(weight, q, out=t)]
            if need_mu:
                pair.append(torch.div(pair[0], q, out=flat[4, :(b1 - b0) * size].view(shape)))
            if need_sigma:
                pair.append(torch.mul(pair[0], dlog, out=flat[5, :(b1 - b0) * size].view(shape)))
            for i, m in enumerate(pair):
                acc[i, b0:b1, :, start:stop].baddbmm_(y1[b0:b1, :, start:end], m.transpose(1, 2))
                if stop < end:  # the transposed (lower-triangle) half of the block
                    acc[i, b0:b1, :, stop:end].baddbmm_(y1[b0:b1, :, start:stop],
                                                        m[:, :, rows:])
    return acc


@functools.lru_cache(maxsize=None)
def _compiled_block_products():
    """:func:`_block_products` compiled by TorchScript (the same operations in the same order),
    or the Python function where TorchScript is missing or fails. A compiled call runs without
    Python's interpreter lock, so the CPU threads of one FSL call do not wait for each other
    between operations: with Python threads each of the ~16 operations per block took and gave
    back the lock, and under load a thread woken for the lock waited for a core (measured at
    56^2, B = 8, 2 threads, by ``tools/benchmarks/fsl.py``). ``torch.jit.script`` is deprecated
    in torch 2.x (its FutureWarning is silenced here) but still present."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            return torch.jit.script(_block_products)
    except Exception:  # noqa: BLE001  no TorchScript: the same code, interpreted
        return _block_products


class _PairwiseFeatureSimilarity(torch.autograd.Function):
    """Exact eq. 9 as the quadratic form ``-sum_k y_k^T (D - K) y_k / (B h w)`` with the image-only
    kernel ``K_ij = w_ij f_ij``.

    With ``A = exp(2 mu)`` and ``z = (delta + eps) / (1 - delta + eps)``, eq. 12 is
    ``f = tanh(mu + log z) = 1 - 2 / (1 + A z^2)``, so ``K = W - 2 M`` with ``M = W / (1 + A z^2)``.
    The Gaussian part ``W`` (eq. 10) is separable and applied exactly with two small matrix
    products; only ``M`` needs the pixel pairs, and only those within the reach of the Gaussian
    (:data:`WEIGHT_CUT`). Its symmetric blocks (whole image rows against the rows within reach
    below them: the upper triangle of a band) are built on the fly in preallocated buffers, for a
    chunk of images at once, so no (h*w)^2 tensor is ever stored and the backward pass is free.

    Prediction channels that are zero after centring in every image of the batch (constant
    channels, e.g. the zeroed absent classes) have ``(D - K) y_k = 0`` exactly and are left out
    of the pairwise products.
    """

    @staticmethod
    def forward(ctx, image: Tensor, gated: Tensor, mu: Tensor, sigma: Tensor,
                block_elements: Optional[int]) -> Tensor:
        # On CPU with T > 1 torch threads the whole call runs with one intra-op thread, its
        # blocks in T threads of its own: OpenMP's barrier after each small operation (the
        # Laplacians, the centring) stalls every thread when a competing process holds a core
        # (measured at 56^2, B = 8, 2 threads, one competing process: 0.17 s of such operations
        # that take 0.007 s on a quiet machine).
        threads = torch.get_num_threads()
        one_thread = gated.device.type == 'cpu' and threads > 1
        if one_thread:
            torch.set_num_threads(1)
        try:
            return _PairwiseFeatureSimilarity._forward(ctx, image, gated, mu, sigma,
                                                       block_elements, threads)
        finally:
            if one_thread:
                torch.set_num_threads(threads)

    @staticmethod
    def _forward(ctx, image: Tensor, gated: Tensor, mu: Tensor, sigma: Tensor,
                 block_elements: Optional[int], threads: int) -> Tensor:
        b, k, h, w = gated.shape
        n = h * w
        dtype, device = gated.dtype, gated.device
        mu_v, sigma_v = float(mu), float(sigma)
        need_mu, need_sigma = ctx.needs_input_grad[2], ctx.needs_input_grad[3]
        a_coef = math.exp(2.0 * mu_v)
        budget = int(block_elements or pair_block_elements(device))
        # delta = L1 / 3 (eq. 13): colours divided by 3, (3, B, n), a contiguous row per channel
        # and image
        x = (image.detach().to(dtype).clamp(0., 1.) / 3.0).reshape(b, 3, n)
        colour = x.transpose(0, 1).contiguous()
        # (D - K) 1 = 0: centring each image's predictions leaves the quadratic form unchanged and
        # limits cancellation between the degree and the neighbour terms.
        y = gated.detach().reshape(b, k, n)
        y = y - y.mean(dim=2, keepdim=True)
        active = (y != 0).any(dim=2).any(dim=0).nonzero().flatten()
        y_act = y.index_select(1, active)
        ka = y_act.shape[1]
        dr2, dc2, gr, gc = _gaussian_factors(h, w, sigma_v, device, dtype)
        gr_n = gr * (1.0 / (2.0 * math.pi * sigma_v ** 2))
        # the Gaussian's reach: M keeps the pairs with w_ij >= cut (distance <= 8.9 sigma)
        cut = math.exp(-WEIGHT_CUT) / (2.0 * math.pi * sigma_v ** 2)
        span = min(h - 1, int(sigma_v * math.sqrt(2.0 * WEIGHT_CUT)))  # rows within reach
        # pairwise kernels: M, then M / q (for d/d mu) and M * (d^2 / s^3 - 2 / s) (for d/d sigma)
        num = 1 + int(need_mu) + int(need_sigma)
        # a ones row appended to y gives the kernel's row (degree) sums from the same product;
        # the (B, K+1, n) layout makes every product (K+1, cols) x (cols, rows), the fast one
        y1 = torch.cat([y_act, y_act.new_ones(b, 1, n)], dim=1)

        def block_pairs(r0, r1):  # rows [r0, r1) against rows [r0, r1 + span)
            return (r1 - r0) * w * (min(h, r1 + span) - r0) * w

        def row_blocks(images):
            """Whole image rows [r0, r1) against the rows [r0, r2) within reach: the upper
            triangle of the symmetric pairwise band (the rest is the transpose), for up to
            ``images`` images at a time (``chunk``), within the budget."""
            blocks, r0 = [], 0
            while r0 < h and ka > 0:
                chunk = min(images, max(1, budget // block_pairs(r0, r0 + 1)))
                r1 = r0 + 1
                while r1 < h and chunk * block_pairs(r0, r1 + 1) <= budget:
                    r1 += 1
                blocks.append([r0, r1, min(h, r1 + span), chunk])
                r0 = r1
            return blocks

        products = _compiled_block_products() if device.type == 'cpu' else _block_products

        def pairwise_products(acc, first, last, blocks, threads=0):
            """Adds ``P y1`` of images [first, last) over ``blocks`` to ``acc`` (buffers as
            large as the largest block needs); ``threads`` > 0 sets the torch threads of the
            calling thread."""
            if threads:
                torch.set_num_threads(threads)
            size = max([r[3] * block_pairs(r[0], r[1]) for r in blocks], default=1)
            products(acc[:, first:last], y1[first:last], colour[:, first:last], gr_n, gc, dr2,
                     dc2, blocks, w, cut, a_coef, sigma_v, need_mu, need_sigma, size, EPS)
            return acc

        # On CPU with T > 1 torch threads the blocks run in T threads of 1-thread operations, so
        # that no barrier follows each of the many small operations (a competing process that
        # stalls one thread then stalls only that thread's work), each thread's images in one
        # compiled call that holds no interpreter lock: one image per task, taken by whichever
        # thread is free (each image's sums stay in one thread, in a fixed order), or, with
        # fewer images than threads, every T-th row block per thread, summed at the end.
        acc = y.new_zeros(num, b, ka + 1, n)
        blocks = row_blocks(b)
        workers = min(threads, max(b, len(blocks))) if device.type == 'cpu' and ka else 1
        if workers <= 1:
            pairwise_products(acc, 0, b, blocks)
        else:
            inner = torch.get_num_threads()
            with ThreadPoolExecutor(workers) as pool:
                try:
                    if b >= workers:
                        blocks = row_blocks(1)
                        list(pool.map(lambda i: pairwise_products(acc, i, i + 1, blocks, 1),
                                      range(b)))
                    else:
                        parts = pool.map(
                            lambda i: pairwise_products(torch.zeros_like(acc), 0, b,
                                                        blocks[i::workers], 1), range(workers))
                        acc = functools.reduce(torch.add, parts)
                finally:
                    torch.set_num_threads(inner)  # the process-wide count the workers set
        deg, nbr = acc[:, :, ka:], acc[:, :, :ka]
        lap_m = deg * y_act - nbr  # (D_P - P) y for every pairwise kernel P (active channels)
        lap_w = _separable_laplacian(y, gr_n, gc, h, w)
        ly = lap_w.index_add(1, active, lap_m[0], alpha=-2.0)  # (D - K) y with K = W - 2 M
        scale = -1.0 / (b * n)

        def quad(u, vec):
            return (u * vec).sum(dtype=torch.float64)

        grads = [None, None]
        if need_mu:  # d f / d mu = 1 - f^2 = 4 / q - 4 / q^2
            grads[0] = 4.0 * (quad(y_act, lap_m[0]) - quad(y_act, lap_m[1])) * scale
        if need_sigma:  # d w / d sigma = w (d^2 / sigma^3 - 2 / sigma)
            lap_dw = (_separable_laplacian(y, gr_n * dr2, gc, h, w)
                      + _separable_laplacian(y, gr_n, gc * dc2, h, w)) / sigma_v ** 3 \
                - lap_w * (2.0 / sigma_v)
            grads[1] = (quad(y, lap_dw) - 2.0 * quad(y_act, lap_m[-1])) * scale
        ctx.save_for_backward(ly)
        ctx.meta = (b, k, h, w, scale)
        ctx.grad_params = grads
        return (quad(y, ly) * scale).to(dtype)

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (ly, ) = ctx.saved_tensors
        b, k, h, w, scale = ctx.meta
        grad_gated = grad_mu = grad_sigma = None
        if ctx.needs_input_grad[1]:
            grad_gated = (ly * (2.0 * scale) * grad_out).reshape(b, k, h, w)
        if ctx.needs_input_grad[2]:
            grad_mu = (ctx.grad_params[0] * grad_out).to(grad_out.dtype)
        if ctx.needs_input_grad[3]:
            grad_sigma = (ctx.grad_params[1] * grad_out).to(grad_out.dtype)
        return None, grad_gated, grad_mu, grad_sigma, None


def pairwise_feature_similarity(image: Tensor,
                                gated: Tensor,
                                mu=2.5,
                                sigma=5.0,
                                block_elements: Optional[int] = None) -> Tensor:
    """Feature similarity loss of eq. 9 over all ordered pixel pairs, divided by ``B*h*w``.

    Args:
        image: (B, 3, h, w) RGB in [0, 1] (clamped), at the resolution of ``gated``.
        gated: (B, K, h, w) gating input of ``g`` (eq. 11), e.g. the max-normalised CAM ``r``.
        mu, sigma: float or 0-d tensors; tensors that require grad receive gradients.
        block_elements: pixel pairs held per block (and so how many images share one kernel
            call); default :func:`pair_block_elements` of the device. Any value gives the same
            result up to float rounding.

    Returns:
        ``-sum_{b,i,j} w_ij g(y_i, y_j) f(delta(x_i, x_j)) / (B h w)``: eq. 9 with ``w`` (eq. 10),
        ``g = 0.5 ||y_i - y_j||^2`` (eq. 11), ``f`` (eq. 12 with the official epsilon 1e-5) and
        ``delta = ||x_i - x_j||_1 / 3`` (eq. 13). Gradients flow through ``gated`` only (and the
        parameters). The exact value is computed blockwise in O(h*w) memory.
    """
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f'image must be (B, 3, h, w), got shape {tuple(image.shape)}')
    if gated.dim() != 4 or gated.shape[0] != image.shape[0] or gated.shape[2:] != image.shape[2:]:
        raise ValueError(f'gated must be (B, K, h, w) matching image {tuple(image.shape)}, '
                         f'got shape {tuple(gated.shape)}')
    if block_elements is not None and block_elements < 1:
        raise ValueError(f'block_elements must be a positive integer, got {block_elements}')
    mu = torch.as_tensor(mu, dtype=gated.dtype, device=gated.device)
    sigma = torch.as_tensor(sigma, dtype=gated.dtype, device=gated.device)
    return _PairwiseFeatureSimilarity.apply(image, gated, mu, sigma, block_elements)
