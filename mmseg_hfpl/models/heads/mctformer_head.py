"""MCTformer-V2's head: a 3x3 convolution on the patch tokens (the patch CAM) and the class-token
classifier."""
from typing import Dict, List, Optional

import torch.nn as nn
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from .cam_head import CAMHead, stack_image_labels


def class_token_logits(cls_tokens: Tensor) -> Tensor:
    """MCTformer's class scores (B, C): each class token averaged over the embedding
    (``x_cls.mean(-1)`` of the official ``MCTformerV2.forward``)."""
    if cls_tokens.dim() != 3:
        raise ValueError(f'class tokens must be (B, C, D), got shape {tuple(cls_tokens.shape)}')
    return cls_tokens.mean(dim=-1)


@MODELS.register_module()
class MCTformerHead(CAMHead):
    """MCTformer-V2 (Xu et al., CVPR 2022): the patch tokens of :class:`MCTViT` (as a map) go
    through a 3x3 convolution with bias (the official ``head``, PyTorch's default
    initialisation) to the patch CAM (B, C-1, h, w); its GAP and the class-token logits are
    both trained with the multi-label soft margin loss.

    Inputs: ``(patch_map, cls_tokens, attentions)`` of :class:`MCTViT` (``in_index=0``).

    Losses (names as logged): ``loss_decode`` on the patch CAM, called as :class:`CAMHead` does
    (``GAPMultiLabelLoss`` = the official ``pat_loss``), and ``loss_cls_token`` on the
    class-token logits (the official ``cls_loss``).

    The hfpl ``add_on`` sees the patch CAM logits (B, C-1, h, w) on the patch grid (14 x 14 at
    224; FSL's ``upsample_factor`` 4 in the paper), no background map, and the RGB input; eq.
    16 scales the patch GAP loss only, the class-token loss stays as it is.

    Args:
        loss_cls_token (dict): loss of the class-token logits, given as (B, C-1, 1, 1) maps.
            Default: ``GAPMultiLabelLoss`` named ``loss_cls_token``.
        **kwargs: :class:`CAMHead` arguments (``in_channels`` = ``channels`` = the embedding
            width, ``num_classes`` with the background, ``loss_decode``).
    """

    def __init__(self,
                 loss_cls_token: ConfigType = dict(
                     type='GAPMultiLabelLoss', loss_name='loss_cls_token'),
                 **kwargs) -> None:
        # the official head keeps PyTorch's default initialisation
        kwargs.setdefault('init_cfg', None)
        super().__init__(num_convs=0, background_channel=False, **kwargs)
        self.conv_seg = nn.Conv2d(self.channels, self.num_fg, 3, padding=1, bias=True)
        self.loss_cls_token = MODELS.build(loss_cls_token)

    @staticmethod
    def _class_tokens(inputs: List[Tensor]) -> Tensor:
        if not isinstance(inputs, (tuple, list)) or len(inputs) != 3:
            raise ValueError('MCTformerHead reads the (patch_map, cls_tokens, attentions) '
                             'outputs of MCTViT')
        return inputs[1]

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType,
             images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        losses = super().loss(inputs, batch_data_samples, train_cfg, images=images)
        cls_logits = class_token_logits(self._class_tokens(inputs))
        label = stack_image_labels(batch_data_samples, self.num_fg).to(cls_logits.device)
        losses[self.loss_cls_token.loss_name] = self.loss_cls_token(cls_logits[..., None, None],
                                                                    label)
        return losses
