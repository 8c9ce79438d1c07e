import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """DeepLab-v1 LargeFOV classifier, the final segmentation network of SEAM / hfpl: a 3x3
    convolution with a large dilation (12) and a 1x1 convolution, each followed by norm + ReLU,
    channel dropout and the 1x1 classifier.

    Args:
        dilation (int): dilation of the 3x3 convolution. Default: 12.
        **kwargs: :class:`BaseDecodeHead` arguments (``channels`` = 512 in DeepLab-v1).
    """

    def __init__(self, dilation: int = 12, **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.5)
        super().__init__(**kwargs)
        self.fov = nn.Sequential(
            ConvModule(self.in_channels, self.channels, 3, padding=dilation, dilation=dilation,
                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg),
            ConvModule(self.channels, self.channels, 1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg))

    def forward(self, inputs):
        return self.cls_seg(self.fov(self._transform_inputs(inputs)))
