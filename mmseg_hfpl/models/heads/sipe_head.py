"""SIPE (Chen et al., CVPR 2022, "Self-supervised Image-specific Prototype Exploration"): the
CAM head with hierarchical side features, image-specific prototypes and the IS-CAM."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from ...losses.functional import EPS, max_norm, with_background_channel
from .cam_head import CAMHead, image_level_accuracy, stack_image_labels


def unit_norm(x: Tensor) -> Tensor:
    """Channel-wise L2 normalisation with SIPE's ``+ 1e-5`` in the denominator."""
    return x / (x.norm(dim=1, keepdim=True) + EPS)


def hierarchical_features(sides: Sequence[Tensor], size) -> Tensor:
    """SIPE's ``hie_fea``: every L2-normalised side feature resized (bilinear) to ``size`` and
    concatenated."""
    return torch.cat([F.interpolate(unit_norm(s), size=size, mode='bilinear', align_corners=False)
                      for s in sides], dim=1)


def seed_masks(norm_cam: Tensor, feature: Tensor, keep: Tensor, bg_factor: float = 0.5) -> Tensor:
    """SIPE's structure-aware seeds (``get_seed``): one-hot (B, C, h, w).

    The IoU of every pixel's feature-correlation map ``relu(f_i . f_j)`` (L2-normalised ``f``)
    with each class map of ``norm_cam`` (background first), the background IoU scaled by
    ``bg_factor``; each pixel is a seed of its best class, kept where ``keep`` (labels and valid
    region, broadcast to (B, C, h, w)) is one.
    """
    b, c, h, w = norm_cam.shape
    f = unit_norm(feature.flatten(2))  # (B, D, hw)
    corr = F.relu(f.transpose(1, 2) @ f)  # (B, hw, hw)
    cam = norm_cam.flatten(2)  # (B, C, hw)
    inter = cam @ corr  # (B, C, hw): sum_j corr_ij cam_cj (corr is symmetric)
    union = corr.sum(dim=2)[:, None] + cam.sum(dim=2, keepdim=True) - inter
    iou = (inter / union).view(b, c, h, w)
    iou = torch.cat([iou[:, :1] * bg_factor, iou[:, 1:]], dim=1)
    seeds = F.one_hot(iou.argmax(dim=1), c).permute(0, 3, 1, 2).to(norm_cam.dtype)
    return seeds * keep


def prototypes(seeds: Tensor, feature: Tensor) -> Tensor:
    """Image-specific prototypes (B, C, D): the seed-masked features averaged over all pixels
    (SIPE's ``get_prototype``; the scale does not matter to the cosine that follows)."""
    seeds = F.interpolate(seeds, size=feature.shape[2:], mode='nearest')
    return torch.einsum('bchw,bdhw->bcd', seeds, feature) / feature[0, 0].numel()


def reactivate(protos: Tensor, feature: Tensor) -> Tensor:
    """IS-CAM (B, C, h, w): ReLU of the cosine between every pixel's feature and each prototype
    (SIPE's ``reactivate``); a class without seeds (zero prototype) scores 0."""
    eps = 1e-8  # torch.cosine_similarity's
    p = protos / protos.norm(dim=2, keepdim=True).clamp(min=eps)
    f = feature / feature.norm(dim=1, keepdim=True).clamp(min=eps)
    return F.relu(torch.einsum('bcd,bdhw->bchw', p, f))


def fuse_flip_pairs(out: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Every map of a batch of pairs (image, its horizontal flip) at 2i, 2i + 1 summed over the
    pair, the flipped one mirrored back: (B/2, ...) as SIPE's ``CAM.forward``
    (``resnet50_SIPE.py:140-141``) before its seeds."""
    return {k: v[0::2] + v[1::2].flip(-1) for k, v in out.items()}


@MODELS.register_module()
class SIPEHead(CAMHead):
    """SIPE's head on a ResNet-50 with four outputs (stride 4, 8, 16, 16).

    - side convolutions (1x1, no bias) on the detached stage outputs -> hierarchical features
      ``hie`` at the stride of the third stage;
    - the classifier (1x1, no bias) on the last stage -> CAM logits ``s``; ``loss_decode``
      (GAP soft-margin) acts on them as in :class:`CAMHead`, and so does the hfpl ``add_on``:
      it sees these logits (B, C-1, h, w) at the last stage's stride (16; FSL's
      ``upsample_factor`` 2 in the paper), no background map, and the RGB input;
    - ``norm_cam`` = [1 - max_c r_c, r_c] with ``r`` the max-normalised CAM (eq. 4), times the
      valid-region mask and the labels (background always on);
    - seeds from ``norm_cam`` and the last-stage features (training) or ``hie`` (inference,
      as the official ``CAM`` class), prototypes on ``hie``, IS-CAM;
    - ``loss_gsc``: the general-specific consistency ``mean |norm_cam - IS-CAM / max|``.

    Every convolution keeps PyTorch's default initialisation, as SIPE's ``resnet50_SIPE.py:23-27``
    (``nn.Conv2d``: kaiming-uniform with ``a = sqrt(5)``, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    the classifier has no bias): ``init_cfg`` defaults to None here, where mmseg's heads draw
    ``conv_seg`` from Normal(0, 0.01).

    Args:
        side_channels: output widths of the four side convolutions (SIPE: 128, 128, 256, 256).
        bg_factor (float): factor on the background IoU of the seeds (SIPE: 0.5).
        loss_gsc (dict): the consistency loss (``GeneralSpecificConsistencyLoss``).
        **kwargs: :class:`CAMHead` arguments; ``in_channels`` lists the four stage widths,
            ``in_index`` their positions, ``channels`` the last one.
    """

    def __init__(self,
                 side_channels: Sequence[int] = (128, 128, 256, 256),
                 bg_factor: float = 0.5,
                 loss_gsc: ConfigType = dict(type='GeneralSpecificConsistencyLoss'),
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('init_cfg', None)  # SIPE: nn.Conv2d's default, not Normal(0, 0.01)
        super().__init__(**kwargs)
        if len(self.in_channels) != 4 or len(side_channels) != 4:
            raise ValueError(f'SIPEHead reads four stages: in_channels {self.in_channels}, '
                             f'side_channels {tuple(side_channels)}')
        self.sides = nn.ModuleList([
            nn.Conv2d(cin, cout, 1, bias=False)
            for cin, cout in zip(self.in_channels, side_channels)
        ])
        self.bg_factor = bg_factor
        self.loss_gsc = MODELS.build(loss_gsc)

    def classifier_in_channels(self) -> int:
        return self.in_channels[-1]

    def forward(self, inputs: List[Tensor]) -> Dict[str, Tensor]:
        """``cam`` (B, C-1, h, w) logits, ``hie`` (B, sum side_channels, h3, w3) and ``last``
        (the last-stage features)."""
        xs = self._transform_inputs(inputs)
        sides = [side(x.detach()) for side, x in zip(self.sides, xs)]
        last = xs[-1]
        cam = self.cls_seg(last)
        return dict(cam=cam, hie=hierarchical_features(sides, sides[2].shape[2:]), last=last)

    def norm_cam(self, cam: Tensor, size, keep: Optional[Tensor] = None) -> Tensor:
        """[1 - max_c r_c, r_c] (eq. 4) at ``size`` (align_corners=True as SIPE), times ``keep``."""
        out = F.interpolate(with_background_channel(max_norm(cam)), size=size, mode='bilinear',
                            align_corners=True)
        return out if keep is None else out * keep

    def is_cam(self, out: Dict[str, Tensor], keep: Tensor, training: bool) -> Dict[str, Tensor]:
        """``norm_cam`` and the IS-CAM (B, C, h3, w3) from the forward outputs."""
        hie = out['hie']
        norm_cam = self.norm_cam(out['cam'], hie.shape[2:], keep if training else None)
        feature = out['last'] if training else hie
        seeds = seed_masks(norm_cam.detach(), feature.detach(), keep, self.bg_factor)
        return dict(norm_cam=norm_cam, is_cam=reactivate(prototypes(seeds, hie), hie))

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType,
             images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        out = self.forward(inputs)
        cam = out['cam']
        label = stack_image_labels(batch_data_samples, self.num_fg).to(cam.device)
        keep = self.keep_mask(label, batch_data_samples, out['hie'].shape[2:], images)
        maps = self.is_cam(out, keep, training=True)
        losses = self.classification_losses(cam, label)
        losses = self.add_on_losses(losses, list(losses), cam, label, images)
        losses[self.loss_gsc.loss_name] = self.loss_gsc(maps['norm_cam'], maps['is_cam'])
        losses['acc_cls'] = image_level_accuracy(cam, label)
        return losses

    @staticmethod
    def keep_mask(label: Tensor, batch_data_samples: SampleList, size,
                  images: Optional[Tensor]) -> Tensor:
        """SIPE's ``valid_mask`` at the feature size: ones over the image (not the padding of
        the crop), the foreground channels times the labels. (B, C, h, w)."""
        b = label.shape[0]
        if images is None:
            raise ValueError('SIPEHead.loss needs the network input (images) for the valid mask')
        full = label.new_zeros(b, 1, *images.shape[2:])
        for i, sample in enumerate(batch_data_samples):
            h, w = sample.metainfo.get('img_shape', images.shape[2:])[:2]
            full[i, :, :h, :w] = 1
        valid = F.interpolate(full, size=size, mode='nearest')
        return valid * torch.cat([torch.ones_like(label[:, :1]), label], dim=1)[..., None, None]

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict], test_cfg: ConfigType,
                flip_pairs: bool = False) -> Tensor:
        """IS-CAM (B, C, h3, w3), background first; the seeds use the image labels given as
        ``img_label`` in the metas (all classes where absent).

        With ``flip_pairs`` the batch holds pairs (image, its horizontal flip) at 2i, 2i + 1:
        the CAM logits and the hierarchical features of each pair are summed first
        (:func:`fuse_flip_pairs`), and one IS-CAM (B/2, C, h3, w3) per pair, in the first image's
        orientation, is computed from the sums, as SIPE's ``CAM.forward``
        (``resnet50_SIPE.py:140-151``, the labels of the first image).
        """
        out = self.forward(inputs)
        if flip_pairs:
            if out['cam'].shape[0] % 2:
                raise ValueError(f'flip_pairs needs pairs (image, flipped image): got a batch of '
                                 f'{out["cam"].shape[0]}')
            out = fuse_flip_pairs(out)
            batch_img_metas = batch_img_metas[0::2]
        labels = []
        for meta in batch_img_metas:
            label = meta.get('img_label')
            labels.append(torch.ones(self.num_fg) if label is None else
                          torch.as_tensor(label, dtype=torch.float32))
        label = torch.stack(labels).to(out['cam'])
        keep = torch.cat([torch.ones_like(label[:, :1]), label], dim=1)[..., None, None]
        return self.is_cam(out, keep, training=False)['is_cam']
