from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

from .functional import check_score_and_label, importance_sampling_loss


@MODELS.register_module()
class ImportanceSamplingLoss(nn.Module):
    """Importance sampling loss (ISL, eqs. 14-18), a drop-in substitute for GAP.

    For every image and class, ``num_samples`` pixels are drawn with replacement from the
    posterior normalised over the image (eq. 15); the BCE (eq. 8) of the scores at those pixels
    is averaged over classes and samples (eq. 18). The draw carries no gradient.

    Heads mix it with their own image-level loss by eq. 16 through their ``add_on`` key
    (:class:`~mmseg_hfpl.models.heads.add_on.AddOn`, ``loss_weight`` = lambda).

    Args:
        num_samples (int): pixels drawn per image and class (``N`` of eq. 18). Default: 10.
        posterior (str): ``'binomial'`` (sigmoid, eq. 14, the paper's proposal) or
            ``'multinomial'`` (softmax over background and classes, eq. 5, the ICASSP original).
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): name in the training log. Default: ``'loss_isl'``.
    """

    def __init__(self,
                 num_samples: int = 10,
                 posterior: str = 'binomial',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_isl') -> None:
        super().__init__()
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        if posterior not in ('binomial', 'multinomial'):
            raise ValueError(f"posterior must be 'binomial' or 'multinomial', got {posterior!r}")
        self.num_samples = num_samples
        self.posterior = posterior
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                bg_score: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Args: ``cls_score`` (B, C, h, w) class scores, ``label`` (B, C) multi-hot labels,
        optional ``bg_score`` (B, 1, h, w) background scores (multinomial posterior only).
        Computed in fp32 outside autocast, as FSL: the posterior and the BCE of the sampled
        scores would otherwise run in half precision (and CUDA autocast refuses the BCE of
        probabilities of the multinomial form)."""
        check_score_and_label(cls_score, label, self.loss_name)
        with torch.autocast(device_type=cls_score.device.type, enabled=False):
            return self.loss_weight * importance_sampling_loss(
                cls_score.float(), label.float(), self.num_samples, self.posterior,
                bg_score=None if bg_score is None else bg_score.float())

    @property
    def loss_name(self) -> str:
        return self._loss_name
