"""The wide ResNet-38 ("model A1" of Wu et al., 2019) in the stride-8 form of PSA / SEAM / hfpl."""
import os.path as osp
from typing import Dict, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

#: names of the feature maps the backbone can return, in ``out_indices`` order
RESNET38_OUTPUTS = ('conv3', 'conv4', 'conv5', 'conv6')


class _PreActBlock(nn.Module):
    """Pre-activation block (BN-ReLU-conv); the shortcut reads the activated input when the shape
    changes. ``bottleneck``: 1x1 / 3x3 / 1x1 convolutions with 1/4, 1/2, 1 of ``out_channels`` and
    channel dropout (b6, b7); otherwise two 3x3 convolutions through ``mid_channels``."""

    def __init__(self, in_channels, mid_channels, out_channels, stride=1, dilation=1,
                 first_dilation=None, bottleneck=False, dropout=0.0, norm_cfg=None):
        super().__init__()
        self.bottleneck = bottleneck
        self.same_shape = in_channels == out_channels and stride == 1 and not bottleneck
        first_dilation = dilation if first_dilation is None else first_dilation
        self.bn_branch2a = build_norm_layer(norm_cfg, in_channels)[1]
        if bottleneck:
            quarter, half = out_channels // 4, out_channels // 2
            self.conv_branch2a = nn.Conv2d(in_channels, quarter, 1, stride, bias=False)
            self.bn_branch2b1 = build_norm_layer(norm_cfg, quarter)[1]
            self.dropout_2b1 = nn.Dropout2d(dropout)
            self.conv_branch2b1 = nn.Conv2d(quarter, half, 3, padding=dilation,
                                            dilation=dilation, bias=False)
            self.bn_branch2b2 = build_norm_layer(norm_cfg, half)[1]
            self.dropout_2b2 = nn.Dropout2d(dropout)
            self.conv_branch2b2 = nn.Conv2d(half, out_channels, 1, bias=False)
        else:
            self.conv_branch2a = nn.Conv2d(in_channels, mid_channels, 3, stride,
                                           padding=first_dilation, dilation=first_dilation,
                                           bias=False)
            self.bn_branch2b1 = build_norm_layer(norm_cfg, mid_channels)[1]
            self.conv_branch2b1 = nn.Conv2d(mid_channels, out_channels, 3, padding=dilation,
                                            dilation=dilation, bias=False)
        if not self.same_shape:
            self.conv_branch1 = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """(output, the BN-ReLU of the input): SEAM's PCM and AffinityNet read the latter."""
        act = F.relu(self.bn_branch2a(x))
        shortcut = x if self.same_shape else self.conv_branch1(act)
        y = self.conv_branch2a(act)
        y = F.relu(self.bn_branch2b1(y))
        if self.bottleneck:
            y = self.conv_branch2b1(self.dropout_2b1(y))
            y = F.relu(self.bn_branch2b2(y))
            y = self.conv_branch2b2(self.dropout_2b2(y))
        else:
            y = self.conv_branch2b1(y)
        return shortcut + y, act


@MODELS.register_module()
class ResNet38d(BaseModule):
    """ResNet-38 with dilation (output stride 8), the backbone of PSA, SEAM, PMM, Spatial-BCE and
    hfpl, with the official parameter names (``conv1a``, ``b2`` ... ``b7``, ``bn7``), so that the
    ImageNet weights converted by ``tools/convert_resnet38_mxnet.py`` load as they are.

    Outputs (``out_indices`` into ``RESNET38_OUTPUTS``), as the official ``forward_as_dict``:
    ``conv3`` = BN-ReLU input of b4 (256 ch, stride 4), ``conv4`` = of b5 (512, stride 8),
    ``conv5`` = of b6 (1024, stride 8), ``conv6`` = BN-ReLU of b7's output (4096, stride 8);
    channels scale with ``base_channels / 64`` (the CPU-sized variants use a narrow copy).

    As in SEAM all BatchNorm layers are frozen (``norm_cfg`` without gradients, ``norm_eval``) and
    ``frozen_stages`` freezes conv1a (0) and the b2 stage (1) and so on: SEAM uses 1.

    Args:
        base_channels (int): width of conv1a; 64 is the real network. Default: 64.
        out_indices (sequence of int): outputs to return. Default: (1, 2, 3).
        frozen_stages (int): -1 (none), 0 (conv1a), k (conv1a and stages b2 .. b(k+1)).
            Default: 1.
        norm_cfg (dict): normalisation layers. Default: frozen BN.
        norm_eval (bool): keep the BN statistics fixed in training. Default: True.
        dropouts (tuple of float): channel dropout in b6 and b7. Default: (0.3, 0.5).
    """

    def __init__(self,
                 base_channels: int = 64,
                 out_indices: Sequence[int] = (1, 2, 3),
                 frozen_stages: int = 1,
                 norm_cfg: Dict = dict(type='BN', requires_grad=False),
                 norm_eval: bool = True,
                 dropouts: Tuple[float, float] = (0.3, 0.5),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        checkpoint = (init_cfg or {}).get('checkpoint') if isinstance(init_cfg, dict) else None
        self._pretrained = checkpoint
        if base_channels % 8:
            raise ValueError(f'base_channels must be a multiple of 8, got {base_channels}')
        for i in out_indices:
            if not 0 <= i < len(RESNET38_OUTPUTS):
                raise ValueError(f'out_indices must index {RESNET38_OUTPUTS}, got {i}')
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        def w(n):  # every width scales with base_channels
            return n * base_channels // 64

        def block(*args, **kwargs):
            return _PreActBlock(*args, norm_cfg=norm_cfg, **kwargs)

        self.conv1a = nn.Conv2d(3, w(64), 3, padding=1, bias=False)
        self.b2 = block(w(64), w(128), w(128), stride=2)
        self.b2_1 = block(w(128), w(128), w(128))
        self.b2_2 = block(w(128), w(128), w(128))
        self.b3 = block(w(128), w(256), w(256), stride=2)
        self.b3_1 = block(w(256), w(256), w(256))
        self.b3_2 = block(w(256), w(256), w(256))
        self.b4 = block(w(256), w(512), w(512), stride=2)
        for i in range(1, 6):
            setattr(self, f'b4_{i}', block(w(512), w(512), w(512)))
        self.b5 = block(w(512), w(512), w(1024), dilation=2, first_dilation=1)
        self.b5_1 = block(w(1024), w(512), w(1024), dilation=2)
        self.b5_2 = block(w(1024), w(512), w(1024), dilation=2)
        self.b6 = block(w(1024), None, w(2048), dilation=4, bottleneck=True, dropout=dropouts[0])
        self.b7 = block(w(2048), None, w(4096), dilation=4, bottleneck=True, dropout=dropouts[1])
        self.bn7 = build_norm_layer(norm_cfg, w(4096))[1]
        self.out_channels = (w(256), w(512), w(1024), w(4096))
        self.stages = [['conv1a'], ['b2', 'b2_1', 'b2_2'], ['b3', 'b3_1', 'b3_2'],
                       ['b4'] + [f'b4_{i}' for i in range(1, 6)], ['b5', 'b5_1', 'b5_2'],
                       ['b6'], ['b7', 'bn7']]
        self._freeze_stages()

    def init_weights(self) -> None:
        path = self._pretrained
        if path and '://' not in str(path) and not osp.isfile(path):
            raise FileNotFoundError(
                f'ResNet-38 weights {path!r} (model.backbone.init_cfg.checkpoint) not found: the '
                'ImageNet weights come from the MXNet file of Wu et al. through '
                'tools/convert_resnet38_mxnet.py (docs/en/dataset_prepare.md, "ImageNet weights"); '
                "MCTformer's AffinityNet starts from psa's res38_cls.pth as downloaded "
                '(configs/affinity/affinitynet_r38_voc12aug-mctformer.py); or set '
                'model.backbone.init_cfg=None')
        super().init_weights()

    def _freeze_stages(self) -> None:
        for names in self.stages[:self.frozen_stages + 1]:
            for name in names:
                module = getattr(self, name)
                module.eval()
                for p in module.parameters():
                    p.requires_grad = False

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.conv1a(x)
        for name in ('b2', 'b2_1', 'b2_2', 'b3', 'b3_1', 'b3_2'):
            x = getattr(self, name)(x)[0]
        x, conv3 = self.b4(x)
        for i in range(1, 6):
            x = getattr(self, f'b4_{i}')(x)[0]
        x, conv4 = self.b5(x)
        x = self.b5_2(self.b5_1(x)[0])[0]
        x, conv5 = self.b6(x)
        x = self.b7(x)[0]
        conv6 = F.relu(self.bn7(x))
        outs = (conv3, conv4, conv5, conv6)
        return tuple(outs[i] for i in self.out_indices)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
