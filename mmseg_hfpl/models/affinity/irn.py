from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...pseudo_labels.random_walk import (dense_affinity, neighbour_offsets, neighbour_pairs,
                                          offset_valid)
from .affinity_net import affinity_label_targets, affinity_loss, labels_on_grid


def line_offsets(dy: int, dx: int):
    """Grid points on the segment from (0, 0) to (dy, dx) (rounded; both ends included)."""
    n = max(abs(dy), abs(dx))
    return sorted({(int(round(dy * t / n)), int(round(dx * t / n))) for t in range(n + 1)})


def boundary_pair_affinity(edge: Tensor, radius: int) -> Tensor:
    """IRN's affinity from a class-boundary map: ``a_ij = 1 - max_{k on the segment i-j} e_k``.

    Args:
        edge: (B, H, W) boundary probabilities in [0, 1].
    Returns:
        (B, P) affinities of :func:`neighbour_pairs` ``(H, W, radius)``, in its order.
    """
    b, h, w = edge.shape
    pad = radius
    padded = F.pad(edge, (pad, pad, 0, pad), value=1.0)  # outside the image: a boundary
    out = []
    for dy, dx in neighbour_offsets(radius):
        emax = None
        for oy, ox in line_offsets(dy, dx):
            shifted = padded[:, oy:oy + h, pad + ox:pad + ox + w]
            emax = shifted if emax is None else torch.maximum(emax, shifted)
        valid = torch.from_numpy(offset_valid(h, w, dy, dx)).to(edge.device)
        out.append((1.0 - emax)[:, valid])
    return torch.cat(out, dim=1)


@MODELS.register_module()
class InterPixelRelationNet(BaseSegmentor):
    """IRN's class-boundary branch (Ahn et al., CVPR 2019) for semantic pseudo-labels.

    A (usually frozen) backbone feeds per-level 1x1 conv + GroupNorm + ReLU projections, fused at
    the finest level's resolution into one boundary logit map. Training uses the inter-pixel
    relation labels of the CAMs (``PseudoLabelGenerator(ir_labels=...)``): pairs within
    ``train_radius`` on the boundary grid are positive (same class) or negative, and their
    affinity is one minus the strongest boundary on the segment between them (same loss weights
    as AffinityNet). At inference the flip-averaged boundary map gives a dense affinity within
    ``test_radius`` for the random walk (``tools/refine_pseudo_labels.py`` with IRN's
    ``--beta 10 --logt 8 --bg-threshold 0.25``). The instance (displacement) branch of IRN is not
    part of this semantic pipeline.

    Args:
        backbone (dict): an mmseg backbone; in_index / in_channels: the levels used (IRN: all
            five ResNet-50 stages; mmseg's ResNet exposes the four residual stages).
        mid_channels (int): channels per level projection. Default: 32.
        train_radius (int), test_radius (int): pair radius for the loss (IRN: 10) and for the
            inference affinity (IRN: 5).
        output_stride (int): input pixels per boundary pixel (IRN: 4); the random walk pads the
            image to a multiple of it.
    """

    def __init__(self,
                 backbone: dict,
                 in_index: Sequence[int],
                 in_channels: Sequence[int],
                 mid_channels: int = 32,
                 train_radius: int = 10,
                 test_radius: int = 5,
                 output_stride: int = 4,
                 data_preprocessor=None,
                 train_cfg=None,
                 test_cfg=None,
                 init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if len(in_index) != len(in_channels):
            raise ValueError('in_index and in_channels must have one entry per level')
        self.backbone = MODELS.build(backbone)
        self.in_index = list(in_index)
        self.projs = nn.ModuleList([
            nn.Sequential(nn.Conv2d(c, mid_channels, 1, bias=False),
                          nn.GroupNorm(4, mid_channels), nn.ReLU(inplace=True))
            for c in in_channels
        ])
        self.edge = nn.Conv2d(mid_channels * len(in_channels), 1, 1, bias=True)
        self.train_radius = train_radius
        self.output_stride = output_stride
        self.test_radius = test_radius
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self._pairs = {}

    def pairs(self, h: int, w: int, radius: int, device) -> Tensor:
        key = (h, w, radius)
        if key not in self._pairs:
            self._pairs[key] = neighbour_pairs(h, w, radius)
        return self._pairs[key].to(device)

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Boundary logits (B, 1, h, w) at the finest used level."""
        feats = self.backbone(inputs)
        levels = [feats[i] for i in self.in_index]
        size = levels[0].shape[2:]
        x = [F.interpolate(p(f), size=size, mode='bilinear', align_corners=False)
             if f.shape[2:] != size else p(f) for p, f in zip(self.projs, levels)]
        return self.edge(torch.cat(x, dim=1))

    def boundary(self, inputs: Tensor) -> Tensor:
        """Flip-averaged boundary probabilities (B, h, w) (IRN's inference)."""
        logits = self.extract_feat(inputs)
        flipped = self.extract_feat(inputs.flip(-1)).flip(-1)
        return torch.sigmoid((logits + flipped)[:, 0] / 2)

    def pair_affinities(self, inputs: Tensor) -> Tuple[Tensor, Tensor, Tuple[int, int]]:
        """(pairs (2, P), affinities (B, P), boundary grid (h, w)) for the sparse random walk."""
        edge = self.boundary(inputs)
        h, w = edge.shape[1:]
        pairs = self.pairs(h, w, self.test_radius, edge.device)
        return pairs, boundary_pair_affinity(edge, self.test_radius), (h, w)

    def affinity(self, inputs: Tensor) -> List[Tensor]:
        """Dense (N, N) affinity matrices, one per image (small grids)."""
        pairs, aff, (h, w) = self.pair_affinities(inputs)
        return [dense_affinity(pairs, a, h * w) for a in aff]

    def seed_weight(self, inputs: Tensor) -> Tensor:
        """IRN damps the CAM seeds on boundaries: weight ``1 - boundary`` (B, h, w)."""
        return 1.0 - self.boundary(inputs)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        edge = torch.sigmoid(self.extract_feat(inputs)[:, 0])
        h, w = edge.shape[1:]
        labels = labels_on_grid(data_samples, (h, w))
        pairs = self.pairs(h, w, self.train_radius, edge.device)
        aff = boundary_pair_affinity(edge, self.train_radius)
        targets = [torch.stack(t) for t in zip(*(affinity_label_targets(lb, pairs)
                                                 for lb in labels))]
        return {k.replace('aff', 'irn'): v for k, v in affinity_loss(aff, *targets).items()}

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> List[Tensor]:
        return self.affinity(inputs)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList):
        raise NotImplementedError('IRN predicts boundaries and affinities, not segmentation '
                                  'logits; use tools/refine_pseudo_labels.py')
