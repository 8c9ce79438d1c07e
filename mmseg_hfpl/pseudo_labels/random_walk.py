"""Random-walk propagation of CAMs with a learned pixel affinity (AffinityNet, PSA / SEAM)."""
import numpy as np
import torch
from torch import Tensor


def neighbour_pairs(height: int, width: int, radius: int) -> Tensor:
    """Every unordered pair of grid pixels closer than ``radius`` (0 < d^2 < radius^2), once:
    (2, P) long tensor of flat indices ``(from, to)`` with ``to`` after ``from`` in raster order
    (PSA's search pattern: same row to the right, then the rows below)."""
    offsets = [(0, dx) for dx in range(1, radius)]
    offsets += [(dy, dx) for dy in range(1, radius) for dx in range(-radius + 1, radius)
                if dx * dx + dy * dy < radius * radius]
    rows, cols = np.mgrid[0:height, 0:width]
    src, dst = [], []
    for dy, dx in offsets:
        r2, c2 = rows + dy, cols + dx
        ok = (r2 < height) & (c2 >= 0) & (c2 < width)
        src.append((rows * width + cols)[ok])
        dst.append((r2 * width + c2)[ok])
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
