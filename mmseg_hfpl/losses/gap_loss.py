import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .functional import check_score_and_label, gap_bce_loss


@MODELS.register_module()
class GAPMultiLabelLoss(nn.Module):
    """Multi-label BCE on global-average-pooled class scores (eqs. 3 + 17).

    The standard CAM classification loss (``multilabel_soft_margin_loss`` of the baselines).

    Args:
        loss_weight (float): weight of the loss (``1 - lambda`` in eq. 16). Default: 1.0.
        loss_name (str): name in the training log. Default: ``'loss_gap'``.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_gap') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, **kwargs) -> Tensor:
        """Args: ``cls_score`` (B, C, h, w) class scores, ``label`` (B, C) multi-hot labels."""
        check_score_and_label(cls_score, label, self.loss_name)
        return self.loss_weight * gap_bce_loss(cls_score, label)

    @property
    def loss_name(self) -> str:
        return self._loss_name
