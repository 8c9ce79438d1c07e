"""Random-walk propagation of CAMs with a learned pixel affinity (AffinityNet, PSA / SEAM)."""
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


def neighbour_pairs(height: int, width: int, radius: int) -> Tensor:
    """Every unordered pair of grid pixels closer than ``radius``, once: (2, P) long tensor of
    flat indices ``(from, to)``, grouped by offset in :func:`neighbour_offsets` order and in
    raster order within an offset."""
    rows, cols = np.mgrid[0:height, 0:width]
    src, dst = [], []
    for dy, dx in neighbour_offsets(radius):
        ok = offset_valid(height, width, dy, dx)
        src.append((rows * width + cols)[ok])
        dst.append(((rows + dy) * width + cols + dx)[ok])
    return torch.from_numpy(np.stack([np.concatenate(src), np.concatenate(dst)])).long()


def dense_affinity(pairs: Tensor, values: Tensor, num_pixels: int) -> Tensor:
    """Symmetric (N, N) affinity with unit diagonal from pair values (PSA's ``to_dense``)."""
    aff = torch.eye(num_pixels, dtype=values.dtype, device=values.device)
    aff[pairs[0], pairs[1]] = values
    aff[pairs[1], pairs[0]] = values
    return aff


def random_walk(affinity: Tensor, seeds: Tensor, beta: float = 8.0, logt: int = 6) -> Tensor:
    """Propagate seed maps with the transition matrix of an affinity (PSA eq. 12-13).

    ``T = A^beta`` normalised so that every column sums to 1; the result is
    ``seeds @ T^(2^logt)``, computed as ``2^logt`` vector-matrix products (cheaper than squaring
    the (N, N) matrix ``logt`` times when there are few seed channels).

    Args:
        affinity: (N, N) non-negative symmetric affinity.
        seeds: (K, N) seed scores (background first).
    """
    trans = affinity.pow(beta)
    trans = trans / trans.sum(dim=0, keepdim=True)
    out = seeds.to(trans.dtype)
    for _ in range(2**logt):
        out = out @ trans
    return out
