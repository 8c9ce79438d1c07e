"""PMM's pretended under-fitting (PUF) cross-entropy for training a segmentor on pseudo-masks
(Li et al., ICCV 2021; ``cross_entropy(..., pus_type, pus_beta, pus_k)`` of
Eli-YiLi/WSSS_MMSeg ``mmseg/models/losses/cross_entropy_loss.py``)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

PUF_MODES = ('clamp', 'pow', 'ignore')


def pretended_underfitting(pixel_loss: Tensor, mode: str = 'clamp', mean_threshold: float = 0.5,
                           k: float = 0.5) -> Tensor:
    """Per-pixel losses after PUF: unchanged while their mean is >= ``mean_threshold``; once
    the mean falls below it, ``clamp`` caps each at ``k`` (so pixels the network disagrees with
    most, likely wrong pseudo-labels, stop pushing), ``pow`` takes ``(l + 1e-9)^k`` and
    ``ignore`` zeroes those above ``k``. The mean is over *all* elements, ignored pixels
    included as 0, as WSSS_MMSeg decides it per batch (no state is kept)."""
    if mode not in PUF_MODES:
        raise ValueError(f'PUF mode must be one of {PUF_MODES}, got {mode!r}')
    if pixel_loss.mean() >= mean_threshold:  # WSSS_MMSeg: `loss.mean() < pus_beta` switches
        return pixel_loss
    if mode == 'clamp':
        return torch.clamp(pixel_loss, 0, k)  # WSSS_MMSeg pus_type='clamp'
    if mode == 'pow':
        return torch.pow(pixel_loss + 1e-9, k)  # WSSS_MMSeg pus_type='pow'
    return pixel_loss * (pixel_loss <= k).float()  # WSSS_MMSeg pus_type='ignore'


@MODELS.register_module()
class PretendedUnderFittingLoss(nn.Module):
    """Softmax cross-entropy with PMM's pretended under-fitting strategy.

    Pixel-wise CE (ignored pixels contribute 0), :func:`pretended_underfitting`, optional
    per-pixel ``weight``, then the mean over all pixels (mmseg's ``CrossEntropyLoss`` with
    ``avg_non_ignore=False``, as WSSS_MMSeg) or the sum. PMM's segmentation configs use
    ``mode='clamp'``, ``mean_threshold=0.5``, ``k=0.5`` on both the decode and auxiliary head.

    Args:
        mode (str): ``'clamp'`` (PMM), ``'pow'`` or ``'ignore'``. Default: ``'clamp'``.
        mean_threshold (float): PUF switches on when the batch's mean CE is below this
            (``pus_beta``). Default: 0.5.
        k (float): the clamp value / exponent / cut-off (``pus_k``). Default: 0.5.
        class_weight (list[float], optional): per-class CE weights.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``. Default: ``'mean'``.
        loss_weight (float): Default: 1.0.
        loss_name (str): Default: ``'loss_puf'``.
    """

    def __init__(self,
                 mode: str = 'clamp',
                 mean_threshold: float = 0.5,
                 k: float = 0.5,
                 class_weight: Optional[list] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_puf') -> None:
        super().__init__()
        if mode not in PUF_MODES:
            raise ValueError(f'mode must be one of {PUF_MODES}, got {mode!r}')
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.mode = mode
        self.mean_threshold = mean_threshold
        self.k = k
        self.class_weight = class_weight
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """``cls_score`` (B, C, H, W) logits, ``label`` (B, H, W) class indices."""
        if cls_score.dim() != 4 or label.shape != (cls_score.shape[0], ) + cls_score.shape[2:]:
            raise ValueError(f'cls_score must be (B, C, H, W) and label (B, H, W); got '
                             f'{tuple(cls_score.shape)} and {tuple(label.shape)}')
        reduction = reduction_override or self.reduction
        class_weight = None if self.class_weight is None else \
            cls_score.new_tensor(self.class_weight)
        loss = F.cross_entropy(cls_score, label.long(), weight=class_weight, reduction='none',
                               ignore_index=ignore_index)
        loss = pretended_underfitting(loss, self.mode, self.mean_threshold, self.k)
        if weight is not None:
            loss = loss * weight.float()
        if reduction == 'mean':
            loss = loss.sum() / avg_factor if avg_factor is not None else loss.mean()
        elif reduction == 'sum':
            loss = loss.sum()
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
