"""Random-walk propagation of CAMs with a learned pixel affinity (AffinityNet / PSA, SEAM, hfpl,
IRN), on a sparse transition matrix.

The affinity is non-zero only between pixels closer than the radius (and on the diagonal), so
``A^beta``, its column normalisation and every product of the walk are exactly sparse: the walk
costs O(N x neighbours) per step instead of the O(N^2) of the official dense matrices
(``mmseg_hfpl.pseudo_labels.reference.dense_random_walk`` re-derives those for the tests).
"""
import warnings

import numpy as np
import torch
from torch import Tensor


def neighbour_offsets(radius: int):
    """Offsets (dy, dx) of PSA's search pattern: same row to the right, then the rows below,
    with 0 < dy^2 + dx^2 < radius^2 (each unordered pair of pixels appears once)."""
    offsets = [(0, dx) for dx in range(1, radius)]
    offsets += [(dy, dx) for dy in range(1, radius) for dx in range(-radius + 1, radius)
                if dx * dx + dy * dy < radius * radius]
    return offsets


def offset_valid(height: int, width: int, dy: int, dx: int) -> np.ndarray:
    """(H, W) mask of the pixels whose neighbour at (dy, dx) lies in the grid."""
    rows, cols = np.mgrid[0:height, 0:width]
    return (rows + dy < height) & (cols + dx >= 0) & (cols + dx < width)


def source_region(height: int, width: int, radius: int) -> np.ndarray:
    """(H, W) mask of PSA's source pixels (``get_indices_of_pairs``): every row but the last
    ``radius - 1``, every column but the first and last ``radius - 1``."""
    keep = np.zeros((height, width), bool)
    r = radius - 1
    keep[:height - r, r:width - r] = True
    return keep


def neighbour_pairs(height: int, width: int, radius: int, crop_border: bool = False) -> Tensor:
    """Every unordered pair of grid pixels closer than ``radius``, once: (2, P) long tensor of
    flat indices ``(from, to)``, grouped by offset in :func:`neighbour_offsets` order and in
    raster order within an offset.

    ``crop_border=True`` keeps PSA's pair set (``tool/pyutils.get_indices_of_pairs``, used by
    AffinityNet's training labels and its inference affinity): only sources in
    :func:`source_region`, so pairs of two pixels of the border band are left out."""
    rows, cols = np.mgrid[0:height, 0:width]
    sources = source_region(height, width, radius) if crop_border else np.ones_like(rows, bool)
    src, dst = [], []
    for dy, dx in neighbour_offsets(radius):
        ok = offset_valid(height, width, dy, dx) & sources
        src.append((rows * width + cols)[ok])
        dst.append(((rows + dy) * width + cols + dx)[ok])
    return torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)])).long()


def dense_affinity(pairs: Tensor, values: Tensor, num_pixels: int) -> Tensor:
    """Symmetric (N, N) affinity with unit diagonal from pair values (PSA's ``to_dense``)."""
    aff = torch.eye(num_pixels, dtype=values.dtype, device=values.device)
    aff[pairs[0], pairs[1]] = values
    aff[pairs[1], pairs[0]] = values
    return aff


def transition_matrix(pairs: Tensor, values: Tensor, num_pixels: int, beta: float = 8.0):
    """Sparse ``A^beta`` (CSR with int32 indices, symmetric, unit diagonal) and its column sums
    (N, ), built directly in CSR order (no COO copy).

    The transition matrix of PSA eq. 11 is ``T = A^beta D^-1`` with ``D`` the diagonal of these
    column sums. ``pairs`` must hold every unordered pair at most once (:func:`neighbour_pairs`).
    """
    n = num_pixels
    device = values.device
    index = torch.int32 if n * n < 2**31 else torch.int64  # halves the index memory
    pairs = pairs.to(index)
    diag = torch.arange(n, device=device, dtype=index)
    rows = torch.cat([pairs[0], pairs[1], diag])
    cols = torch.cat([pairs[1], pairs[0], diag])
    powered = values.pow(beta)
    vals = torch.cat([powered, powered, torch.ones(n, dtype=values.dtype, device=device)])
    del powered
    order = torch.argsort(rows * n + cols)
    crow = torch.zeros(n + 1, dtype=index, device=device)
    crow[1:] = torch.bincount(rows, minlength=n).cumsum(0)
    del rows
    colsum = torch.zeros(n, dtype=values.dtype, device=device).index_add_(0, cols, vals)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Sparse CSR tensor support is in beta')
        mat = torch.sparse_csr_tensor(crow, cols[order], vals[order], (n, n),
                                      check_invariants=False)
    return mat, colsum


def random_walk(pairs: Tensor,
                values: Tensor,
                num_pixels: int,
                seeds: Tensor,
                beta: float = 8.0,
                logt: int = 6) -> Tensor:
    """Propagate seed maps with the transition matrix of a sparse affinity (PSA eqs. 11-12).

    ``T = A^beta`` normalised so that every column sums to 1; the result is
    ``seeds @ T^(2^logt)``, as the official ``trans_mat`` squared ``logt`` times, computed as
    ``2^logt`` sparse products: with ``A`` symmetric, ``x T = ((A^beta x^T) / colsum)^T``.

    Args:
        pairs: (2, P) pixel index pairs (:func:`neighbour_pairs`), each unordered pair once.
        values: (P, ) their affinities in [0, 1].
        num_pixels: N, the number of grid pixels.
        seeds: (K, N) seed scores (background first).
    """
    if values.dtype in (torch.float16, torch.bfloat16):
        values = values.float()  # 2^logt products: half precision would drift (and sparse
        # products have no half kernels on the CPU)
    with torch.autocast(device_type=values.device.type, enabled=False):
        mat, colsum = transition_matrix(pairs, values, num_pixels, beta)
        out = seeds.to(values.dtype).t().contiguous()
        for _ in range(2**logt):
            out = (mat @ out) / colsum[:, None]
    return out.t()
