"""The DeiT vision transformer of MCTformer (Xu et al., CVPR 2022) with one class token per
foreground class, returning the attention maps of every block."""
import math
from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from mmseg.registry import MODELS
from torch import Tensor


class _Attention(nn.Module):
    """Multi-head self-attention that also returns its softmax weights (B, heads, N, N)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool, attn_drop: float,
                 proj_drop: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads)**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads) \
            .permute(2, 0, 3, 1, 4)
        weights = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        x = (self.attn_drop(weights) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(x)), weights


class _Block(nn.Module):
    """Pre-norm transformer block (timm/DeiT names: norm1, attn, norm2, mlp.fc1, mlp.fc2)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, drop: float,
                 attn_drop: float, drop_path: float, norm_eps: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = _Attention(dim, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential()
        self.mlp.add_module('fc1', nn.Linear(dim, hidden))
        self.mlp.add_module('act', nn.GELU())
        self.mlp.add_module('drop1', nn.Dropout(drop))
        self.mlp.add_module('fc2', nn.Linear(hidden, dim))
        self.mlp.add_module('drop2', nn.Dropout(drop))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        out, weights = self.attn(self.norm1(x))
        x = x + self.drop_path(out)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, weights


def convert_deit_state_dict(state_dict: Dict[str, Tensor], num_cls_tokens: int,
                            grid: Tuple[int, int], keep_norm: bool = False) -> Dict[str, Tensor]:
    """A DeiT / timm ViT state dict made loadable into :class:`MCTViT`.

    As MCTformer's ``main.py --finetune``: the single ``cls_token`` and the class part of
    ``pos_embed`` are repeated ``num_cls_tokens`` times and the patch part is resized
    (bicubic) to ``grid``; the ImageNet classifier (``head*``), DeiT's ``dist_token`` and, unless
    ``keep_norm``, the final ``norm`` (MCTformer-V2 never applies it) are dropped.
    """
    out = {k: v for k, v in state_dict.items()
           if not k.startswith(('head.', 'head_dist.', 'dist_token'))
           and (keep_norm or not k.startswith('norm.'))}
    num_extra = 1
    if 'cls_token' in out:
        num_extra = out['cls_token'].shape[1]
        if num_extra not in (1, num_cls_tokens):
            raise ValueError(f'checkpoint cls_token has {num_extra} tokens; expected 1 (DeiT) '
                             f'or {num_cls_tokens}')
        out['cls_token'] = out['cls_token'].repeat(1, num_cls_tokens // num_extra, 1)
    if 'pos_embed' in out:
        pos = out['pos_embed']
        if 'dist_token' in state_dict:  # DeiT-distilled: [cls, dist, patches]
            pos = torch.cat([pos[:, :1], pos[:, 2:]], dim=1)
        cls_pos, patch_pos = pos[:, :num_extra], pos[:, num_extra:]
        side = int(round(math.sqrt(patch_pos.shape[1])))
        if side * side != patch_pos.shape[1]:
            raise ValueError(f'checkpoint pos_embed has {patch_pos.shape[1]} patch positions, '
                             'not a square grid')
        if (side, side) != tuple(grid):
            dim = patch_pos.shape[2]
            patch_pos = F.interpolate(
                patch_pos.reshape(1, side, side, dim).permute(0, 3, 1, 2), size=tuple(grid),
                mode='bicubic', align_corners=False).permute(0, 2, 3, 1).reshape(1, -1, dim)
        out['pos_embed'] = torch.cat(
            [cls_pos.repeat(1, num_cls_tokens // num_extra, 1), patch_pos], dim=1)
    return out


@MODELS.register_module()
class MCTViT(BaseModule):
    """Vision transformer with ``num_cls_tokens`` class tokens (MCTformer; DeiT-S/16 by default).

    Parameter names follow the official DeiT / timm checkpoints (``cls_token``, ``pos_embed``,
    ``patch_embed.proj``, ``blocks.N.attn.qkv`` ...). With
    ``init_cfg=dict(type='Pretrained', checkpoint='deit_small_patch16_224-cd65a155.pth')`` the
    checkpoint (``{'model': ...}`` or a bare state dict) is converted by
    :func:`convert_deit_state_dict` (the single class token and its position embedding repeated
    for every class, as MCTformer's ``main.py``). The patch position embedding is resized for
    other input sizes as MCTformer's ``interpolate_pos_encoding``; inputs whose sides are not
    multiples of the patch size are truncated by the patch convolution, as in the official code.

    Returns ``(patch_map, cls_tokens, attentions)``: the patch tokens as a map (B, D, h, w), the
    class tokens (B, num_cls_tokens, D) and one (B, heads, N, N) softmax attention per block,
    tokens ordered [class tokens, patches]. As the official MCTformer-V2 the final ``norm`` is
    not applied (``final_norm=False``).

    Args:
        img_size (int): training input size of the position embedding grid. Default: 224.
        patch_size (int): Default: 16.
        embed_dims (int): Default: 384 (DeiT-S).
        num_layers (int): Default: 12.
        num_heads (int): Default: 6.
        mlp_ratio (float): Default: 4.
        qkv_bias (bool): Default: True.
        drop_rate, attn_drop_rate (float): dropout rates. Default: 0.
        drop_path_rate (float): stochastic depth, linearly increasing. Default: 0.1 (MCTformer).
        num_cls_tokens (int): class tokens, one per foreground class. Default: 20.
        final_norm (bool): apply the final LayerNorm. Default: False.
        norm_eps (float): LayerNorm epsilon. Default: 1e-6.
    """

    def __init__(self,
                 img_size: int = 224,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 embed_dims: int = 384,
                 num_layers: int = 12,
                 num_heads: int = 6,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.1,
                 num_cls_tokens: int = 20,
                 final_norm: bool = False,
                 norm_eps: float = 1e-6,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible by num_heads '
                             f'({num_heads})')
        if img_size % patch_size:
            raise ValueError(f'img_size ({img_size}) must be a multiple of patch_size '
                             f'({patch_size})')
        self.patch_size = patch_size
        self.grid = img_size // patch_size
        self.num_cls_tokens = num_cls_tokens
        self.final_norm = final_norm
        self.patch_embed = nn.ModuleDict(
            dict(proj=nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)))
        self.cls_token = nn.Parameter(torch.zeros(1, num_cls_tokens, embed_dims))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, num_cls_tokens + self.grid**2, embed_dims))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.blocks = nn.ModuleList([
            _Block(embed_dims, num_heads, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, r,
                   norm_eps) for r in rates
        ])
        if final_norm:
            self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)
        # DeiT / MCTformer initialisation (the patch convolution keeps PyTorch's default)
        trunc_normal_(self.pos_embed, std=.02)
        trunc_normal_(self.cls_token, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """Load a DeiT checkpoint (converted) when ``init_cfg`` is ``Pretrained``."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            return super().init_weights()
        ckpt = CheckpointLoader.load_checkpoint(cfg['checkpoint'], map_location='cpu',
                                                logger='current')
        state_dict = ckpt.get('model', ckpt.get('state_dict', ckpt))
        state_dict = convert_deit_state_dict(state_dict, self.num_cls_tokens,
                                             (self.grid, self.grid), keep_norm=self.final_norm)
        print_log(f'MCTViT: loaded {cfg["checkpoint"]} with the class token repeated '
                  f'{self.num_cls_tokens} times', logger='current')
        load_state_dict(self, state_dict, strict=False, logger='current')
        self._is_init = True

    def resized_pos_embed(self, h: int, w: int) -> Tensor:
        """The position embedding for an (h, w) patch grid: the patch part resized bicubically
        with MCTformer's (DINO's) scale factor ``(h + 0.1) / grid``."""
        if (h, w) == (self.grid, self.grid):
            return self.pos_embed
        cls_pos = self.pos_embed[:, :self.num_cls_tokens]
        patch_pos = self.pos_embed[:, self.num_cls_tokens:]
        dim = patch_pos.shape[2]
        patch_pos = F.interpolate(
            patch_pos.reshape(1, self.grid, self.grid, dim).permute(0, 3, 1, 2),
            scale_factor=((h + 0.1) / self.grid, (w + 0.1) / self.grid), mode='bicubic')
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, h * w, dim)
        return torch.cat([cls_pos, patch_pos], dim=1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tuple[Tensor, ...]]:
        b = x.shape[0]
        if min(x.shape[2:]) < self.patch_size:
            raise ValueError(f'input of shape {tuple(x.shape)} is smaller than one '
                             f'{self.patch_size}-pixel patch')
        x = self.patch_embed['proj'](x)
        h, w = x.shape[2:]
        x = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
        x = self.pos_drop(x + self.resized_pos_embed(h, w))
        attentions = []
        for block in self.blocks:
            x, weights = block(x)
            attentions.append(weights)
        if self.final_norm:
            x = self.norm(x)
        cls_tokens = x[:, :self.num_cls_tokens]
        patch_map = x[:, self.num_cls_tokens:].transpose(1, 2).reshape(b, -1, h, w)
        return patch_map, cls_tokens, tuple(attentions)
