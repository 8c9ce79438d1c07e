"""SEAM's CAM head: the ``fc8`` classifier, the pixel correlation module (PCM) and its losses."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ...losses.functional import max_norm, with_background_channel
from .add_on import AddOnMixin
from .cam_head import image_level_accuracy, stack_image_labels


def pixel_correlation(cam: Tensor, feat: Tensor, eps: float = 1e-5) -> Tensor:
    """SEAM's PCM: ``cam_rv[:, :, j] = sum_i cam[:, :, i] * a_ij / sum_i a_ij`` with the affinity
    ``a_ij = ReLU(cos(f_i, f_j))`` of the (already projected) features ``feat`` (B, D, h, w);
    ``cam`` (B, C, h, w). Norms and sums carry SEAM's ``+1e-5``."""
    n, c, h, w = cam.shape
    f = feat.flatten(2)
    f = f / (f.norm(dim=1, keepdim=True) + eps)
    aff = F.relu(torch.bmm(f.transpose(1, 2), f))
    aff = aff / (aff.sum(dim=1, keepdim=True) + eps)
    return torch.bmm(cam.flatten(2), aff).view(n, c, h, w)


def seam_pcm_input(logits: Tensor) -> Tensor:
    """The CAM SEAM feeds to the PCM (no gradient): ReLU, per-channel max normalisation,
    background ``1 - max`` over the foreground, and only each pixel's top foreground class."""
    with torch.no_grad():
        cam = F.relu(logits)
        peak = cam.flatten(2).max(dim=2)[0][..., None, None] + 1e-5
        cam = F.relu(cam - 1e-5) / peak
        fg = cam[:, 1:]
        fg = torch.where(fg < fg.max(dim=1, keepdim=True)[0], torch.zeros_like(fg), fg)
        return with_background_channel(fg)  # the kept maxima: 1 - top class


@MODELS.register_module()
class SEAMHead(AddOnMixin, BaseDecodeHead):
    """SEAM (Wang et al., CVPR 2020) on a ResNet-38: channel dropout and a bias-free 1x1 ``fc8``
    predicting background + foreground score maps (the hfpl ``logits``), and the PCM, which
    refines the detached CAM with the affinities of ``f9([image, f8_3(conv4), f8_4(conv5)])``
    (detached backbone features, the network input resized to the CAM grid).

    Inputs (``in_index``): (conv4, conv5, conv6) of :class:`ResNet38d`.

    Losses, as the official training loop combines them (names as logged):

    - ``loss_gap``: ``loss_decode`` (GAP BCE) on the CAMs up-sampled to the input of each branch,
      averaged over the two branches;
    - ``loss_rvmin``: adaptive min-pooling of the refined CAMs, averaged over the branches;
    - ``loss_er``, ``loss_ecr``: equivariant (cross) regularisation between the branches;

    The hfpl ``add_on`` (as ``hfpl/train_cam_voc.py`` adds it) sees the full-scale branch's raw
    ``fc8`` logits at the CAM resolution (stride 8): the foreground maps (B, C-1, h, w), the
    background map as ``bg_score`` and the full-scale RGB input. Eq. 16 mixes ISL into that
    branch's GAP term, ``(1 - lambda) * GAP_1 + lambda * ISL``, inside the mean over the two
    branches, so ``loss_isl`` is logged as ``lambda * ISL / 2``; ``loss_fsl`` is FSL on the same
    logits.

    Args:
        pcm_channels (tuple): widths of f8_3, f8_4 and f9. Default: (64, 128, 192).
        add_on (dict, optional): the hfpl add-on (:class:`~.add_on.AddOn`).
        loss_er, loss_ecr, loss_rvmin (dict): SEAM's self-supervised losses.
        **kwargs: :class:`BaseDecodeHead` arguments; ``num_classes`` counts the background.
    """

    def __init__(self,
                 pcm_channels: Sequence[int] = (64, 128, 192),
                 loss_decode: ConfigType = dict(type='GAPMultiLabelLoss'),
                 add_on: Optional[ConfigType] = None,
                 loss_er: ConfigType = dict(type='EquivariantRegularizationLoss'),
                 loss_ecr: ConfigType = dict(type='EquivariantCrossRegularizationLoss'),
                 loss_rvmin: ConfigType = dict(type='AdaptiveMinPoolingLoss'),
                 **kwargs) -> None:
        self.reject_old_add_on_keys(kwargs)
        kwargs.setdefault('dropout_ratio', 0.5)
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(loss_decode=loss_decode, **kwargs)
        if len(self.in_channels) != 3:
            raise ValueError(f'SEAMHead reads (conv4, conv5, conv6); got in_channels '
                             f'{self.in_channels}')
        if len(pcm_channels) != 3 or pcm_channels[2] != pcm_channels[0] + pcm_channels[1]:
            raise ValueError(f'pcm_channels must be (a, b, a + b) as SEAM\'s (64, 128, 192), '
                             f'got {pcm_channels}')
        self.num_fg = self.num_classes - 1
        self.conv_seg = nn.Conv2d(self.channels, self.num_classes, 1, bias=False)  # fc8
        self.f8_3 = nn.Conv2d(self.in_channels[0], pcm_channels[0], 1, bias=False)
        self.f8_4 = nn.Conv2d(self.in_channels[1], pcm_channels[1], 1, bias=False)
        self.f9 = nn.Conv2d(pcm_channels[2] + 3, pcm_channels[2], 1, bias=False)
        self.init_add_on(add_on)
        self.loss_er = MODELS.build(loss_er)
        self.loss_ecr = MODELS.build(loss_ecr)
        self.loss_rvmin = MODELS.build(loss_rvmin)

    def init_weights(self) -> None:
        # SEAM's initialisation of the new layers
        nn.init.xavier_uniform_(self.conv_seg.weight)
        nn.init.kaiming_normal_(self.f8_3.weight)
        nn.init.kaiming_normal_(self.f8_4.weight)
        nn.init.xavier_uniform_(self.f9.weight, gain=4)

    def forward(self, inputs: List[Tensor], image: Tensor) -> Dict[str, Tensor]:
        """``inputs``: backbone outputs; ``image``: the (normalised) network input.
        Returns ``logits`` (B, C, h, w) of fc8 and the PCM-refined ``cam_rv`` at the same size."""
        conv4, conv5, conv6 = self._transform_inputs(inputs)
        logits = self.cls_seg(conv6)
        h, w = logits.shape[2:]
        f8_3 = F.relu(self.f8_3(conv4.detach()))
        f8_4 = F.relu(self.f8_4(conv5.detach()))
        small = F.interpolate(image, size=(h, w), mode='bilinear', align_corners=True)
        feat = self.f9(torch.cat([small, f8_3, f8_4], dim=1))
        cam_rv = pixel_correlation(seam_pcm_input(logits), feat)
        return dict(logits=logits, cam_rv=cam_rv)

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict], test_cfg: ConfigType,
                image: Optional[Tensor] = None) -> Tensor:
        """Foreground PCM-refined CAMs (B, C-1, h, w), SEAM's ``cam_rv`` for pseudo-labels."""
        if image is None:
            raise ValueError('SEAMHead.predict needs the network input (image=...) for the PCM')
        return self.forward(inputs, image)['cam_rv'][:, 1:]

    def loss(self, inputs, batch_data_samples, train_cfg):
        raise NotImplementedError('SEAMHead is trained through SEAMSegmentor.loss, which runs '
                                  'both branches and calls loss_by_feat(out1, out2, ...)')

    def loss_by_feat(self, out1: Dict[str, Tensor], out2: Dict[str, Tensor],
                     batch_data_samples: SampleList, size1, size2,
                     rgb1: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Losses of the two branches (``out1`` full scale at input size ``size1``, ``out2``
        rescaled at ``size2``); ``rgb1`` is the full-scale input as RGB in [0, 1] (for FSL)."""
        logits1 = out1['logits']
        label = stack_image_labels(batch_data_samples, self.num_fg).to(logits1.device)
        full = torch.cat([label.new_ones(label.shape[0], 1), label], dim=1)[..., None, None]

        def up(x, size):
            return F.interpolate(x, size=size, mode='bilinear', align_corners=True)

        cam1, rv1 = up(logits1, size1), up(out1['cam_rv'], size1)
        cam2, rv2 = up(out2['logits'], size2), up(out2['cam_rv'], size2)
        losses = {}
        gap1 = self.loss_decode(cam1[:, 1:], label)
        gap2 = self.loss_decode(cam2[:, 1:], label)
        add_on = {} if self.add_on is None else self.add_on(
            logits1[:, 1:], label, image=rgb1, bg_score=logits1[:, :1])
        if self.add_on is not None and self.add_on.isl is not None:
            # eq. 16 on the full-scale branch, inside the mean over the branches
            isl_name = self.add_on.isl.loss_name
            losses[isl_name] = add_on.pop(isl_name) / 2
            gap1 = self.add_on_cls_weight * gap1
        losses[self.loss_decode.loss_name] = (gap1 + gap2) / 2
        losses[self.loss_rvmin.loss_name] = (self.loss_rvmin((rv1 * full)[:, 1:]) +
                                             self.loss_rvmin((rv2 * full)[:, 1:])) / 2
        small = cam2.shape[2:]
        n1 = up(max_norm(cam1, subtract_min=True), small) * full
        r1 = up(max_norm(rv1, subtract_min=True), small) * full
        n2 = max_norm(cam2, subtract_min=True) * full
        r2 = max_norm(rv2, subtract_min=True) * full
        losses[self.loss_er.loss_name] = self.loss_er(n1, n2)
        losses[self.loss_ecr.loss_name] = self.loss_ecr(with_background_channel(n1[:, 1:]), r1,
                                                        with_background_channel(n2[:, 1:]), r2)
        losses.update(add_on)  # FSL
        losses['acc_cls'] = image_level_accuracy(cam1[:, 1:], label)  # full-scale branch
        return losses
