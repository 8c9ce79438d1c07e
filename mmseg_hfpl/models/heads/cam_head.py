from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from .add_on import AddOnMixin


def stack_image_labels(batch_data_samples: SampleList, num_fg: int) -> Tensor:
    """(B, num_fg) multi-hot labels from the ``gt_img_label`` field of the data samples."""
    labels = []
    for i, sample in enumerate(batch_data_samples):
        if 'gt_img_label' not in sample:
            raise KeyError(f'data sample {i} ({sample.metainfo.get("img_path")}) has no '
                           'gt_img_label: pack the inputs with PackWSSSInputs')
        label = sample.gt_img_label
        if label.shape != (num_fg, ):
            raise ValueError(f'gt_img_label of {sample.metainfo.get("img_path")} has shape '
                             f'{tuple(label.shape)}, expected ({num_fg},): one entry per '
                             'foreground class')
        labels.append(label)
    return torch.stack(labels).float()


@torch.no_grad()
def image_level_accuracy(fg_scores: Tensor, label: Tensor) -> Tensor:
    """Per-class accuracy (%) of the GAP scores' signs against the multi-hot labels (logged as
    ``acc_cls``, not trained)."""
    return ((fg_scores.mean(dim=(2, 3)) > 0) == label.bool()).float().mean() * 100


@MODELS.register_module()
class CAMHead(AddOnMixin, BaseDecodeHead):
    """Class activation map head: optional 3x3 convolutions and a 1x1 classifier that turns
    backbone features into class score maps ``s_c`` (the CAMs; eq. 2 with the classifier as a
    convolution), trained from image-level labels only.

    ``num_classes`` counts the segmentation classes including the background (class 0, as in
    mmseg); the classifier predicts the ``num_classes - 1`` foreground classes, plus a leading
    background score map when ``background_channel`` (SEAM's 21-channel ``fc8``), which the
    classification losses ignore and the multinomial posterior (eq. 5) uses.

    ``loss_decode`` (default ``GAPMultiLabelLoss``) is the image-level classification loss,
    called as ``loss(cls_score, label)`` with the foreground scores (B, C-1, h, w) and the
    multi-hot labels (B, C-1) (a list: the sum of the entries under their names).

    The hfpl add-on (``add_on=dict(isl=..., fsl=...)``, :mod:`.add_on`) sees the classifier's
    foreground logits (B, C-1, h, w) at the feature resolution, the background map (with
    ``background_channel``) as ``bg_score``, and the RGB input; ``loss_decode`` is scaled by
    ``1 - lam`` (eq. 16).

    Args:
        num_convs (int): 3x3 conv layers before the classifier. Default: 0 (then
            ``channels`` must equal the input channels).
        background_channel (bool): predict a background score map too. Default: False.
        cls_bias (bool): bias in the 1x1 classifier (the baselines use none). Default: False.
        add_on (dict, optional): the hfpl add-on (:class:`~.add_on.AddOn`). Default: None.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``,
            ``num_classes``, ``in_index``, ``dropout_ratio``, ``norm_cfg``, ``loss_decode``...).
    """

    def __init__(self,
                 num_convs: int = 0,
                 background_channel: bool = False,
                 cls_bias: bool = False,
                 loss_decode: ConfigType = dict(type='GAPMultiLabelLoss'),
                 add_on: Optional[ConfigType] = None,
                 **kwargs) -> None:
        self.reject_old_add_on_keys(kwargs)
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(loss_decode=loss_decode, **kwargs)
        if self.num_classes < 2:
            raise ValueError(f'num_classes counts the background too; got {self.num_classes}')
        if num_convs == 0 and self.channels != self.classifier_in_channels():
            raise ValueError(f'with num_convs=0 the classifier reads the backbone features, so '
                             f'channels ({self.channels}) must equal in_channels '
                             f'({self.classifier_in_channels()})')
        self.num_fg = self.num_classes - 1
        self.background_channel = background_channel
        self.convs = nn.Sequential(*[
            ConvModule(self.in_channels if i == 0 else self.channels, self.channels, 3,
                       padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                       act_cfg=self.act_cfg) for i in range(num_convs)
        ])
        self.conv_seg = nn.Conv2d(self.channels, self.num_fg + int(background_channel), 1,
                                  bias=cls_bias)
        if not isinstance(self.loss_decode, nn.ModuleList):
            self.loss_decode = nn.ModuleList([self.loss_decode])
        self.init_add_on(add_on)

    def classifier_in_channels(self) -> int:
        """Width of the features the classifier reads without extra convolutions."""
        return self.in_channels

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """All score maps (B, [1 +] C-1, h, w), background first when present."""
        x = self._transform_inputs(inputs)
        return self.cls_seg(self.convs(x))

    def split_scores(self, scores: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """(foreground scores, background scores or None)."""
        if self.background_channel:
            return scores[:, 1:], scores[:, :1]
        return scores, None

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType,
             images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Losses from image-level labels; ``images`` is the RGB input in [0, 1]."""
        return self.loss_by_feat(self.forward(inputs), batch_data_samples, images)

    def loss_by_feat(self, seg_logits: Tensor, batch_data_samples: SampleList,
                     images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        fg, bg = self.split_scores(seg_logits)
        label = stack_image_labels(batch_data_samples, self.num_fg).to(fg.device)
        losses = self.classification_losses(fg, label)
        losses = self.add_on_losses(losses, list(losses), fg, label, images, bg)
        losses['acc_cls'] = image_level_accuracy(fg, label)
        return losses

    def classification_losses(self, cls_score: Tensor, label: Tensor) -> Dict[str, Tensor]:
        """The ``loss_decode`` terms of the class scores, summed per log name."""
        losses = {}
        for loss_module in self.loss_decode:
            value = loss_module(cls_score, label)
            name = loss_module.loss_name
            losses[name] = losses[name] + value if name in losses else value
        return losses

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """Foreground class score maps at the feature resolution (B, C-1, h, w)."""
        return self.split_scores(self.forward(inputs))[0]
