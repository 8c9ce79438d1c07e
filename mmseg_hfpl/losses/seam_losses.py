"""The self-supervised losses of SEAM (Wang et al., CVPR 2020), as the official code computes them.

The inputs are prepared by :class:`~mmseg_hfpl.models.SEAMHead` exactly as SEAM's training loop
does (min-max normalised CAMs, the full-scale branch resized to the x0.3 branch, unlabelled
classes zeroed); these modules only hold the reductions.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


def max_onehot(cam: Tensor) -> Tensor:
    """Keep each pixel's largest foreground value and zero the other foreground channels (the
    background channel 0 is kept), as SEAM's ``max_onehot``; returns a new tensor."""
    fg = cam[:, 1:]
    fg = torch.where(fg == fg.max(dim=1, keepdim=True)[0], fg, torch.zeros_like(fg))
    return torch.cat([cam[:, :1], fg], dim=1)


@MODELS.register_module()
class EquivariantRegularizationLoss(nn.Module):
    """ER: mean absolute difference between the foreground CAMs of the two branches (the
    full-scale one resized to the other's size), ``mean |cam1[:, 1:] - cam2[:, 1:]|``."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_er') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cam1: Tensor, cam2: Tensor) -> Tensor:
        if cam1.shape != cam2.shape:
            raise ValueError(f'ER needs CAMs of one shape, got {tuple(cam1.shape)} and '
                             f'{tuple(cam2.shape)}')
        return self.loss_weight * (cam1[:, 1:] - cam2[:, 1:]).abs().mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class EquivariantCrossRegularizationLoss(nn.Module):
    """ECR: for each branch, ``|max_onehot(other branch's CAM, detached) - PCM-refined CAM|``,
    averaged over the ``top_ratio`` largest entries of each image (over all channels and pixels;
    SEAM keeps 20 %), summed over the two directions."""

    def __init__(self, top_ratio: float = 0.2, loss_weight: float = 1.0,
                 loss_name: str = 'loss_ecr') -> None:
        super().__init__()
        if not 0 < top_ratio <= 1:
            raise ValueError(f'top_ratio must be in (0, 1], got {top_ratio}')
        self.top_ratio = top_ratio
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def one_direction(self, cam_other: Tensor, cam_rv: Tensor) -> Tensor:
        diff = (max_onehot(cam_other.detach()) - cam_rv).abs().flatten(1)
        k = int(diff.shape[1] * self.top_ratio)
        if k < 1:
            raise ValueError(f'ECR keeps {self.top_ratio} of {diff.shape[1]} values: none')
        return diff.topk(k, dim=1)[0].mean()

    def forward(self, cam1: Tensor, cam_rv1: Tensor, cam2: Tensor, cam_rv2: Tensor) -> Tensor:
        """``cam1``/``cam2``: CAMs with the background channel ``1 - max``; ``cam_rv*``: the
        PCM-refined CAMs of the same branch; all (B, C, h, w) at one size."""
        return self.loss_weight * (self.one_direction(cam2, cam_rv1) +
                                   self.one_direction(cam1, cam_rv2))

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class AdaptiveMinPoolingLoss(nn.Module):
    """SEAM's adaptive min-pooling loss on the PCM-refined foreground CAMs of the labelled
    classes: the per-pixel maximum over classes, its ``ratio`` (1/4) smallest values per image
    after ReLU, summed and divided by their count (pushes the most background-like pixels to 0)."""

    def __init__(self, ratio: float = 0.25, loss_weight: float = 1.0,
                 loss_name: str = 'loss_rvmin') -> None:
        super().__init__()
        self.ratio = ratio
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cam_rv_fg: Tensor) -> Tensor:
        n, _, h, w = cam_rv_fg.shape
        k = int(h * w * self.ratio)
        if k < 1:
            raise ValueError(f'min-pooling keeps {self.ratio} of {h * w} pixels: none')
        lowest = cam_rv_fg.max(dim=1)[0].flatten(1).topk(k, dim=1, largest=False)[0]
        return self.loss_weight * F.relu(lowest).sum() / (k * n)

    @property
    def loss_name(self) -> str:
        return self._loss_name
