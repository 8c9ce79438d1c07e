"""Spatial-BCE (Wu et al., "Adaptive Spatial-BCE Loss for Weakly Supervised Semantic
Segmentation", ECCV 2022): the spatial BCE with a foreground-ratio threshold and the KL term
between the mean pixel probability and the foreground-ratio prior.

Plain tensor functions (formulas of the official ``loss_functions.py``, allenwu97/Spatial-BCE)
and two thin registered modules. Scores are ``(B, C, h, w)`` class logits (foreground classes
only, Spatial-BCE's temperature-scaled ``cls_logit``), labels ``(B, C)`` multi-hot, the
foreground-ratio prior ``fg_ratio`` ``(B, C)`` in [0, 1] (share of the image's pixels per class).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from ..engine.dist import mean_over_processes
from .functional import check_score_and_label

# the official clamps: ``eps`` of Spatial_BCE_Loss / KLLoss, the threshold floor, the prior offset
EPS = 1e-8
MIN_THRESHOLD = 1e-4
PRIOR_EPS = 1e-10


def check_fg_ratio(fg_ratio: Tensor, label: Tensor) -> None:
    """Raise a ``ValueError`` naming ``fg_ratio`` when it does not match ``label`` or [0, 1]."""
    if fg_ratio.shape != label.shape:
        raise ValueError(f'fg_ratio must be (B, C) = {tuple(label.shape)} like the labels, got '
                         f'shape {tuple(fg_ratio.shape)}')
    if not bool(((fg_ratio >= 0) & (fg_ratio <= 1)).all()):
        raise ValueError('fg_ratio must hold foreground ratios in [0, 1]')


def foreground_quantile_threshold(prob: Tensor, fg_ratio: Tensor) -> Tensor:
    """Per (image, class) threshold: the sigmoid score ranked ``int(fg_ratio * N)`` (0-based)
    among the ``N`` pixels in descending order, i.e. the score above which a ``fg_ratio`` share
    of the pixels lies (official ``Spatial_BCE_Loss``, iterations ``% 100 < 80``; the index is
    clamped to ``N - 1`` where the official code would index out of range at ratio 1).

    Args: ``prob`` (B, C, N) sigmoid scores; ``fg_ratio`` (B, C). Returns (B, C), no gradient.
    """
    n = prob.shape[-1]
    index = (fg_ratio.double() * n).long().clamp(0, n - 1)  # official: (fg * h * w).int()
    ranked = prob.detach().sort(dim=-1, descending=True)[0]
    return ranked.gather(-1, index[..., None].to(prob.device))[..., 0]


def spatial_bce_terms(prob: Tensor, label: Tensor,
                      threshold: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The piecewise spatial BCE of the labelled classes around the threshold ``t``.

    ``h_low = 2 p / t - p^2 / t^2`` for ``p <= t`` and
    ``h_high = (1 - p)(1 - 2 t + p) / (1 - t)^2`` for ``p > t`` (both 1 at ``p = t``, 0 at
    ``p = 0`` resp. ``p = 1``; official ``Spatial_BCE_Loss.forward``), on the pixels of the
    classes present in the image; the masks carry no gradient.

    Args: ``prob`` (B, C, N), ``label`` (B, C), ``threshold`` (B, C) (floored at 1e-4).
    Returns: ``(h_low, h_high, mask_low, mask_high)``, each (B, C, N).
    """
    t = threshold.clamp(min=MIN_THRESHOLD)[..., None]
    y = label.to(prob.dtype)[..., None]
    mask_low = ((prob <= t) * y).detach()
    mask_high = ((prob > t) * y).detach()
    h_low = (2 * prob / t - prob.pow(2) / t.pow(2)) * mask_low  # official h_low
    alpha = 1 / (1 - t).pow(2).clamp(min=EPS)
    h_high = alpha * (1 - prob) * (1 - 2 * t + prob) * mask_high  # official h_high
    return h_low, h_high, mask_low, mask_high


def spatial_bce_network_loss(score: Tensor, label: Tensor, fg_ratio: Tensor) -> Tensor:
    """The loss of the network iterations: threshold = the ``fg_ratio`` quantile of the scores
    (detached), piecewise spatial BCE on the labelled classes plus ``-log(1 - p)`` on the absent
    ones, averaged over all ``B * C * N`` entries (official ``Spatial_BCE_Loss``, iter % 100 < 80).
    """
    prob = torch.sigmoid(score.flatten(2))
    threshold = foreground_quantile_threshold(prob, fg_ratio)
    h_low, h_high, _, _ = spatial_bce_terms(prob, label, threshold)
    y = label.to(prob.dtype)[..., None]
    negative = -(1 - y) * torch.log((1 - prob).clamp(min=EPS))  # official neg_loss
    return (h_low + h_high + negative).mean()


def _count(count: Tensor) -> Tensor:
    """A batch count as a loss denominator: its mean over the DDP processes (so that the
    averaged gradients are those of the whole batch's ``sum / count``, as the official
    DataParallel computes it; :func:`~mmseg_hfpl.engine.dist.mean_over_processes`), 1 where it
    is 0 (the sum is 0 too)."""
    count = mean_over_processes(count)
    return torch.where(count > 0, count, torch.ones_like(count))


def spatial_bce_threshold_loss(score: Tensor, label: Tensor, threshold_score: Tensor) -> Tensor:
    """The loss of the threshold iterations: the scores are detached, the threshold is the
    sigmoid of the pixel mean of the threshold head's output, and the two pieces are averaged
    over their own pixels: ``sum(h_low) / |low| + sum(h_high) / |high|`` (official
    ``Spatial_BCE_Loss``, iter % 100 >= 80; an empty piece counts 0 instead of NaN; under DDP
    the counts are those of the total batch)."""
    prob = torch.sigmoid(score.detach().flatten(2))
    threshold = torch.sigmoid(threshold_score.flatten(2).mean(dim=2))
    h_low, h_high, mask_low, mask_high = spatial_bce_terms(prob, label, threshold)
    counts = _count(torch.stack([mask_low.sum(), mask_high.sum()]))
    return h_low.sum() / counts[0] + h_high.sum() / counts[1]


def foreground_ratio_kl(score: Tensor, label: Tensor, fg_ratio: Tensor) -> Tensor:
    """KL(m || q) between the mean pixel distribution ``m = mean_i [1 - p_i, p_i]`` and the prior
    ``q = [1 - fg, fg]``, summed over the labelled (image, class) pairs and divided by their
    number (official ``KLLoss``: ``m * log(clamp(m / (q + 1e-10), 1e-8))``; under DDP the
    number of the total batch)."""
    prob = torch.sigmoid(score.flatten(2))
    marginal = torch.stack([1 - prob, prob], dim=2).mean(dim=3)  # (B, C, 2)
    prior = torch.stack([1 - fg_ratio, fg_ratio], dim=2).to(prob.dtype)
    kl = (marginal * torch.log((marginal / (prior + PRIOR_EPS)).clamp(min=EPS))).sum(dim=2)
    y = label.to(prob.dtype)
    return (y * kl).sum() / _count(y.sum())


@MODELS.register_module()
class SpatialBCELoss(nn.Module):
    """Spatial-BCE loss with its two alternating objectives.

    In the network iterations (``threshold_phase=False``) the per-class threshold is the
    ``fg_ratio`` quantile of the sigmoid scores and the loss trains the scores
    (:func:`spatial_bce_network_loss`); in the threshold iterations it trains only the threshold
    head's output ``threshold_score`` against the detached scores
    (:func:`spatial_bce_threshold_loss`).

    Args:
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): name in the training log. Default: ``'loss_sbce'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_sbce') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                fg_ratio: Tensor,
                threshold_score: Optional[Tensor] = None,
                threshold_phase: bool = False,
                **kwargs) -> Tensor:
        """Args: ``cls_score`` (B, C, h, w) logits, ``label`` (B, C), ``fg_ratio`` (B, C),
        ``threshold_score`` (B, C, h', w') threshold head output (threshold phase only)."""
        check_score_and_label(cls_score, label, self.loss_name)
        check_fg_ratio(fg_ratio, label)
        if not threshold_phase:
            return self.loss_weight * spatial_bce_network_loss(cls_score, label, fg_ratio)
        if threshold_score is None or threshold_score.shape[:2] != cls_score.shape[:2]:
            raise ValueError(f'threshold_score must be (B, C, h, w) with (B, C) = '
                             f'{tuple(cls_score.shape[:2])} in the threshold phase, got '
                             f'{None if threshold_score is None else tuple(threshold_score.shape)}')
        return self.loss_weight * spatial_bce_threshold_loss(cls_score, label, threshold_score)

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class ForegroundRatioKLLoss(nn.Module):
    """Spatial-BCE's KL term between the mean pixel probability and the foreground-ratio prior
    (:func:`foreground_ratio_kl`), trained in every iteration.

    Args:
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): name in the training log. Default: ``'loss_kl'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_kl') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, fg_ratio: Tensor, **kwargs) -> Tensor:
        check_score_and_label(cls_score, label, self.loss_name)
        check_fg_ratio(fg_ratio, label)
        return self.loss_weight * foreground_ratio_kl(cls_score, label, fg_ratio)

    @property
    def loss_name(self) -> str:
        return self._loss_name
