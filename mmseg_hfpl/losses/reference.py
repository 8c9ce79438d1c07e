"""Dense reference of the feature similarity loss, written from the formulas of the official hfpl
code (``tool/probutils.feature_similarity_loss`` with ``px=1, py=2``): every (h*w)^2 pairwise tensor
is materialised and autograd keeps them. Used by the tests and the benchmark only."""
import math

import torch
from torch import Tensor


def dense_feature_similarity(image: Tensor, gated: Tensor, mu=2.5, sigma=5.0) -> Tensor:
    """Eq. 9 the straightforward way: pairwise distances with ``torch.cdist`` over all pairs."""
    n, cx, h, w = image.shape
    x = image.reshape(n, cx, h * w).transpose(1, 2).clamp(0., 1.)
    y = gated.reshape(n, gated.shape[1], h * w).transpose(1, 2)
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    pos = torch.stack([rows, cols], dim=-1).reshape(1, -1, 2).to(gated)
    dp = torch.cdist(pos, pos, p=2.0)
    dx = (torch.cdist(x, x, p=1.0) / cx).clamp(0., 1.)  # eq. 13
    dx = torch.tanh(mu + torch.log((dx + 1e-5) / (1 - dx + 1e-5)))  # eq. 12
    dy = 0.5 * torch.cdist(y, y, p=2.0) ** 2  # eq. 11
    dp = torch.exp(-0.5 * (dp / sigma) ** 2) / (2. * math.pi * sigma ** 2)  # eq. 10
    return torch.sum(-(1 / (n * h * w)) * dp * dy * dx)  # eq. 9
