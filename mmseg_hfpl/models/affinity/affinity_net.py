from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...pseudo_labels.random_walk import dense_affinity, neighbour_pairs


def affinity_label_targets(label: Tensor, pairs: Tensor):
    """Pair targets from an (H*W,) label map with 255 = unknown (PSA ``ExtractAffinityLabel``):
    (background-positive, foreground-positive, negative) float masks over the pairs."""
    a, b = label[pairs[0]], label[pairs[1]]
    valid = (a != 255) & (b != 255)
    same = valid & (a == b)
    return (same & (a == 0)).float(), (same & (a > 0)).float(), (valid & (a != b)).float()


def affinity_loss(aff: Tensor, bg_pos: Tensor, fg_pos: Tensor, neg: Tensor) -> Dict[str, Tensor]:
    """PSA's affinity loss: mean -log(a) over background and foreground positive pairs, mean
    -log(1 - a) over negative pairs, weighted 1/4, 1/4, 1/2."""
    def mean(x, m):
        return (x * m).sum() / (m.sum() + 1e-5)

    return dict(
        loss_aff_bg=0.25 * mean(-torch.log(aff + 1e-5), bg_pos),
        loss_aff_fg=0.25 * mean(-torch.log(aff + 1e-5), fg_pos),
        loss_aff_neg=0.5 * mean(-torch.log(1.0 + 1e-5 - aff), neg))


def labels_on_grid(data_samples: SampleList, size: Tuple[int, int]) -> Tensor:
    """(B, h*w) long labels of the samples on the feature grid: as they are when already of
    that size (PSA's pooled CRF labels), else nearest down-sampling of the label maps."""
    labels = torch.stack([s.gt_sem_seg.data for s in data_samples]).float()
    if labels.shape[-2:] != tuple(size):
        labels = F.interpolate(labels, size=size, mode='nearest')
    return labels.long().flatten(1)


@MODELS.register_module()
class AffinityNet(BaseSegmentor):
    """AffinityNet (Ahn & Kwak, CVPR 2018): predicts class-agnostic pixel affinities
    ``a_ij = exp(-mean_c |f_i - f_j|)`` from multi-level backbone features, trained on the
    confident pseudo-labels of two CRF maps (see ``PseudoLabelGenerator(affinity_labels=True)``
    and :class:`~mmseg_hfpl.datasets.AffinityLabelsFromCRF`) and used to propagate CAMs by a
    random walk (``tools/refine_pseudo_labels.py``).

    As PSA's ``network/resnet38_aff.py``: the projections are initialised kaiming-normal, the
    fusion xavier-uniform with gain 4, and the pairs leave out sources in the border band
    (``crop_border``, ``tool/pyutils.get_indices_of_pairs``) in training and inference. Labels
    already on the feature grid (the 8x8-pooled CRF labels) are used as they are; larger label
    maps are down-sampled by nearest neighbour.

    Args:
        backbone (dict): an mmseg backbone returning the levels in ``in_index``.
        in_index (sequence of int): backbone outputs used (PSA: the last three of ResNet-38).
        in_channels (sequence of int): their channels.
        mid_channels (sequence of int): 1x1 projections per level (PSA: 64, 128, 256).
        out_channels (int): channels of the affinity feature (PSA: 448).
        radius (int): pairs closer than this (in feature pixels) are compared. Default: 5.
        crop_border (bool): PSA's pair set without sources in the border band. Default: True.
        output_stride (int): input pixels per feature pixel (the random walk pads the image to
            a multiple of it). Default: 8.
        data_preprocessor (dict): as for any mmseg segmentor.
    """

    def __init__(self,
                 backbone: dict,
                 in_index: Sequence[int],
                 in_channels: Sequence[int],
                 mid_channels: Sequence[int] = (64, 128, 256),
                 out_channels: int = 448,
                 radius: int = 5,
                 crop_border: bool = True,
                 output_stride: int = 8,
                 data_preprocessor=None,
                 train_cfg=None,
                 test_cfg=None,
                 init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not len(in_index) == len(in_channels) == len(mid_channels):
            raise ValueError('in_index, in_channels and mid_channels must have one entry per '
                             'level')
        self.backbone = MODELS.build(backbone)
        self.in_index = list(in_index)
        self.radius = radius
        self.crop_border = crop_border
        self.output_stride = output_stride
        # PSA: 1x1 convolutions without bias, ELU after each and after the fusion
        self.projs = nn.ModuleList([
            nn.Sequential(nn.Conv2d(c, m, 1, bias=False), nn.ELU())
            for c, m in zip(in_channels, mid_channels)
        ])
        self.fuse = nn.Conv2d(sum(mid_channels), out_channels, 1, bias=False)
        for proj in self.projs:
            nn.init.kaiming_normal_(proj[0].weight)
        nn.init.xavier_uniform_(self.fuse.weight, gain=4)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self._pairs = {}

    def pairs(self, h: int, w: int, device) -> Tensor:
        if (h, w) not in self._pairs:
            self._pairs[(h, w)] = neighbour_pairs(h, w, self.radius, self.crop_border)
        return self._pairs[(h, w)].to(device)

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Affinity features (B, out_channels, h, w) at the resolution of the first level."""
        feats = self.backbone(inputs)
        levels = [feats[i] for i in self.in_index]
        size = levels[0].shape[2:]
        x = [F.interpolate(p(f), size=size, mode='bilinear', align_corners=False)
             if f.shape[2:] != size else p(f) for p, f in zip(self.projs, levels)]
        return F.elu(self.fuse(torch.cat(x, dim=1)))

    def pair_affinity(self, feat: Tensor) -> Tensor:
        """(B, P) affinities of the neighbour pairs of the feature grid."""
        b, c, h, w = feat.shape
        pairs = self.pairs(h, w, feat.device)
        flat = feat.flatten(2)
        return torch.exp(-(flat[:, :, pairs[0]] - flat[:, :, pairs[1]]).abs().mean(dim=1))

    def pair_affinities(self, inputs: Tensor) -> Tuple[Tensor, Tensor, Tuple[int, int]]:
        """(pairs (2, P), affinities (B, P), feature grid (h, w)) for the sparse random walk."""
        feat = self.extract_feat(inputs)
        h, w = feat.shape[2:]
        return self.pairs(h, w, feat.device), self.pair_affinity(feat), (h, w)

    def affinity(self, inputs: Tensor) -> List[Tensor]:
        """Dense (N, N) affinity matrices, one per image, on the feature grid (small grids)."""
        pairs, aff, (h, w) = self.pair_affinities(inputs)
        return [dense_affinity(pairs, a, h * w) for a in aff]

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        feat = self.extract_feat(inputs)
        h, w = feat.shape[2:]
        labels = labels_on_grid(data_samples, (h, w))
        aff = self.pair_affinity(feat)
        pairs = self.pairs(h, w, feat.device)
        targets = [torch.stack(t) for t in zip(*(affinity_label_targets(lb, pairs)
                                                 for lb in labels))]
        return affinity_loss(aff, *targets)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> List[Tensor]:
        return self.affinity(inputs)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        return self.extract_feat(inputs)

    def encode_decode(self, inputs: Tensor, batch_data_samples: SampleList):
        raise NotImplementedError('AffinityNet predicts affinities, not segmentation logits; '
                                  'use tools/refine_pseudo_labels.py')
