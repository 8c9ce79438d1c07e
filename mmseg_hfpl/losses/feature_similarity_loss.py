from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .functional import (check_score_and_label, max_norm, multinomial_posterior,
                         pairwise_feature_similarity, with_background_channel)

GATINGS = ('max_norm', 'sigmoid', 'score', 'softmax')


def gate_scores(cls_score: Tensor,
                label: Tensor,
                gating: str = 'max_norm',
                with_background: bool = True,
                mask_absent: bool = True,
                bg_score: Optional[Tensor] = None,
                subtract_min: bool = False) -> Tensor:
    """The input of ``g`` (eq. 11) for the feature similarity loss.

    ``'max_norm'``: ``r`` (eq. 4); ``'sigmoid'``: ``b`` (eq. 14); ``'score'``: raw ``s``;
    ``'softmax'``: ``a`` (eq. 5, background channel from the softmax itself). Classes absent from
    the image are zeroed when ``mask_absent`` (Sec. 4.3). With ``with_background`` a background
    channel ``1 - max_c`` over the masked class channels is prepended (``r`` and ``b`` only).
    ``subtract_min`` selects the min-max form of ``r`` used by the official SEAM/hfpl code.
    """
    mask = label.to(cls_score.dtype)[..., None, None] if mask_absent else None
    if gating == 'softmax':
        prob = multinomial_posterior(cls_score, bg_score)
        if mask is not None:
            prob = torch.cat([prob[:, :1], prob[:, 1:] * mask], dim=1)
        return prob
    if gating == 'max_norm':
        gated = max_norm(cls_score, subtract_min=subtract_min)  # eq. 4
    elif gating == 'sigmoid':
        gated = torch.sigmoid(cls_score)
    elif gating == 'score':
        gated = cls_score
    else:
        raise ValueError(f'gating must be one of {GATINGS}, got {gating!r}')
    if mask is not None:
        gated = gated * mask
    if with_background:
        gated = with_background_channel(gated)
    return gated


@MODELS.register_module()
class FeatureSimilarityLoss(nn.Module):
    """Feature similarity loss (FSL, eqs. 9-13) in the binomial design of Sec. 4.3.

    Pulls the gated CAM values of similar-coloured neighbours together and pushes dissimilar
    ones apart. Computed exactly over all pixel pairs by
    :func:`~mmseg_hfpl.losses.functional.pairwise_feature_similarity`, always in fp32.

    Args:
        mu (float): offset of the dissimilarity function ``f`` (eq. 12). Default: 2.5.
        sigma (float): standard deviation of the spatial weight (eq. 10), in CAM pixels.
            Default: 5.0.
        gating (str): input of ``g`` (eq. 11): ``'max_norm'`` (``r``, eq. 4, default),
            ``'sigmoid'`` (``b``, eq. 14), ``'score'`` (raw ``s``) or ``'softmax'`` (the
            multinomial ``a``, eq. 5).
        with_background (bool): add the channel ``1 - max_c`` (as the official SEAM code does).
            Only for ``'max_norm'`` and ``'sigmoid'``. Default: True.
        mask_absent (bool): zero the classes absent from the image (Sec. 4.3). Default: True.
        learnable (bool): learn ``mu`` and ``sigma`` (the ICASSP original). Default: False.
        subtract_min (bool): min-max normalisation for ``'max_norm'`` (the official SEAM/hfpl
            ``max_norm``); default False (eq. 4 as written).
        upsample_factor (int): integer factor by which the class scores are bilinearly
            up-sampled before the loss (SIPE x2, MCTformer x4 in the paper). Default: 1.
        loss_weight (float): weight of the loss. Default: 1.0.
        loss_name (str): name in the training log. Default: ``'loss_fsl'``.
    """

    def __init__(self,
                 mu: float = 2.5,
                 sigma: float = 5.0,
                 gating: str = 'max_norm',
                 with_background: bool = True,
                 mask_absent: bool = True,
                 learnable: bool = False,
                 subtract_min: bool = False,
                 upsample_factor: int = 1,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_fsl') -> None:
        super().__init__()
        if gating not in GATINGS:
            raise ValueError(f'gating must be one of {GATINGS}, got {gating!r}')
        if with_background and gating in ('score', 'softmax'):
            raise ValueError(f"with_background=True needs gating 'max_norm' or 'sigmoid' "
                             f'(got {gating!r}); the softmax has its own background channel '
                             'and raw scores have none')
        if int(upsample_factor) != upsample_factor or upsample_factor < 1:
            raise ValueError(f'upsample_factor must be a positive integer, got {upsample_factor}')
        if sigma <= 0:
            raise ValueError(f'sigma must be positive, got {sigma}')
        self.gating = gating
        self.with_background = with_background
        self.mask_absent = mask_absent
        self.subtract_min = subtract_min
        self.upsample_factor = int(upsample_factor)
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        if learnable:
            self.mu = nn.Parameter(torch.tensor(float(mu)))
            self.sigma = nn.Parameter(torch.tensor(float(sigma)))
        else:
            self.register_buffer('mu', torch.tensor(float(mu)), persistent=False)
            self.register_buffer('sigma', torch.tensor(float(sigma)), persistent=False)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                image: Optional[Tensor] = None,
                bg_score: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Args:
            cls_score: (B, C, h, w) class scores ``s``.
            label: (B, C) multi-hot image-level labels.
            image: (B, 3, H, W) RGB in [0, 1] (de-normalised network input, any size).
            bg_score: optional (B, 1, h, w) background scores (``'softmax'`` gating only).
        """
        if image is None:
            raise ValueError('FeatureSimilarityLoss needs the input image (image=None given)')
        check_score_and_label(cls_score, label, self.loss_name)
        if image.dim() != 4 or image.shape[0] != cls_score.shape[0] or image.shape[1] != 3:
            raise ValueError(f'image must be (B, 3, H, W) with B = {cls_score.shape[0]}, '
                             f'got shape {tuple(image.shape)}')
        device_type = cls_score.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            score = cls_score.float()
            if bg_score is not None:
                bg_score = bg_score.float()
            if self.upsample_factor > 1:
                size = tuple(d * self.upsample_factor for d in score.shape[2:])
                score = F.interpolate(score, size=size, mode='bilinear', align_corners=False)
                if bg_score is not None:
                    bg_score = F.interpolate(bg_score, size=size, mode='bilinear',
                                             align_corners=False)
            gated = gate_scores(score, label, self.gating, self.with_background,
                                self.mask_absent, bg_score, self.subtract_min)
            # the image at the CAM size, as the official code (bilinear, align_corners=True)
            small = F.interpolate(image.float(), size=score.shape[2:], mode='bilinear',
                                  align_corners=True).clamp(0., 1.)
            loss = pairwise_feature_similarity(small, gated, self.mu, self.sigma)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name
