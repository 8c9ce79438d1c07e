import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """DeepLab-v1 LargeFOV classifier, the final segmentation network of SEAM / hfpl (hfpl
    ``lib/net/deeplabv1.py:21-54``): a 3x3 convolution with a large dilation (12) and a 1x1
    convolution, each followed by norm + ReLU, element-wise dropout (``nn.Dropout``, as the
    official :25; mmseg's heads use channel ``Dropout2d``) and the 1x1 classifier.

    Initialisation as the official ``__initial__`` (:32-39): every convolution Kaiming-normal
    (fan-out, ReLU) — the ``ConvModule`` default — the classifier bias keeps PyTorch's default;
    norm weights 1, biases 0. An ``init_cfg`` given explicitly replaces this.

    Args:
        dilation (int): dilation of the 3x3 convolution. Default: 12.
        **kwargs: :class:`BaseDecodeHead` arguments (``channels`` = 512 in DeepLab-v1).
    """

    def __init__(self, dilation: int = 12, **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.5)
        kwargs.setdefault('init_cfg', None)
        super().__init__(**kwargs)
        if self.dropout is not None:
            self.dropout = nn.Dropout(self.dropout_ratio)
        nn.init.kaiming_normal_(self.conv_seg.weight, mode='fan_out', nonlinearity='relu')
        self.fov = nn.Sequential(
            ConvModule(self.in_channels, self.channels, 3, padding=dilation, dilation=dilation,
                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg),
            ConvModule(self.channels, self.channels, 1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))

    def forward(self, inputs):
        return self.cls_seg(self.fov(self._transform_inputs(inputs)))
