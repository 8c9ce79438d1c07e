"""SIPE's general-specific consistency loss (Chen et al., CVPR 2022)."""
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .functional import EPS


@MODELS.register_module()
class GeneralSpecificConsistencyLoss(nn.Module):
    """``mean |norm_cam - IS-CAM / max IS-CAM|`` over images, classes (background included) and
    pixels (SIPE's ``lossGSC``); the IS-CAM is max-normalised per image and class."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_gsc') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, norm_cam: Tensor, is_cam: Tensor) -> Tensor:
        if norm_cam.shape != is_cam.shape:
            raise ValueError(f'norm_cam {tuple(norm_cam.shape)} and IS-CAM {tuple(is_cam.shape)} '
                             'must have the same shape')
        is_cam = is_cam / (F.adaptive_max_pool2d(is_cam, 1) + EPS)
        return self.loss_weight * (norm_cam - is_cam).abs().mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
