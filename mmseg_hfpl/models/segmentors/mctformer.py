"""MCTformer-V2's class-specific localisation maps (Xu et al., CVPR 2022) as a segmentor."""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from .cam_segmentor import CAMSegmentor


def head_averaged_attention(attentions: Sequence[Tensor]) -> Tensor:
    """(L, B, N, N): every block's (B, heads, N, N) attention averaged over the heads
    (``torch.mean(attn_weights, dim=2)`` of the official ``MCTformerV2.forward``)."""
    return torch.stack([a.mean(dim=1) for a in attentions])


def fused_class_attention(patch_cam: Tensor, attention: Tensor, num_layers: int) -> Tensor:
    """MCTformer-V2's fused map (B, C, h, w): the class-to-patch attention summed over the last
    ``num_layers`` blocks times ``ReLU(patch CAM)`` (official ``attention_type='fused'``:
    ``mtatt * feature_map``).

    Args:
        patch_cam: (B, C, h, w) patch CAM logits.
        attention: (L, B, C + h*w, C + h*w) head-averaged attention, class tokens first.
        num_layers: the last blocks summed (the official ``--layer-index 3``).
    """
    b, c, h, w = patch_cam.shape
    if attention.dim() != 4 or attention.shape[1] != b or attention.shape[2] != c + h * w:
        raise ValueError(f'attention must be (L, {b}, {c + h * w}, {c + h * w}) for a patch CAM '
                         f'of shape {tuple(patch_cam.shape)}, got {tuple(attention.shape)}')
    if not 1 <= num_layers <= attention.shape[0]:
        raise ValueError(f'num_layers must be in [1, {attention.shape[0]}], got {num_layers}')
    cls_to_patch = attention[-num_layers:].sum(dim=0)[:, :c, c:].reshape(b, c, h, w)
    return cls_to_patch * F.relu(patch_cam)


def patch_affinity_refine(cams: Tensor, patch_attention: Tensor) -> Tensor:
    """``refined_c(i) = sum_j A_ij cams_c(j)`` with the patch-to-patch attention ``A``
    (B, h*w, h*w), rows = queries (official ``--patch-attn-refine``: ``patch_attn @ cams``)."""
    b, c, h, w = cams.shape
    if patch_attention.shape != (b, h * w, h * w):
        raise ValueError(f'patch_attention must be ({b}, {h * w}, {h * w}), got '
                         f'{tuple(patch_attention.shape)}')
    return torch.einsum('bij,bcj->bci', patch_attention, cams.flatten(2)).reshape(b, c, h, w)


def min_max_normalise(cams: Tensor, eps: float = 1e-8) -> Tensor:
    """Per image and class ``(x - min) / (max - min + eps)`` (the official ``1e-8``)."""
    flat = cams.flatten(2)
    low = flat.min(dim=2)[0][..., None, None]
    high = flat.max(dim=2)[0][..., None, None]
    return (cams - low) / (high - low + eps)


@MODELS.register_module()
class MCTformerSegmentor(CAMSegmentor):
    """MCTformer-V2 on :class:`~mmseg_hfpl.models.MCTViT` + :class:`MCTformerHead`, with the
    optional hfpl add-on (the head's ``add_on``).

    Training is :class:`CAMSegmentor`'s (the head adds the class-token loss). ``cam_scores``
    (``predict``, ``tools/test.py``, ``tools/make_pseudo_labels.py``) is the official V2
    inference: class-to-patch attention of the last ``cam_layers`` blocks x ReLU(patch CAM)
    (:func:`fused_class_attention`), refined by the patch-to-patch attention summed over all
    blocks (:func:`patch_affinity_refine`), bilinearly up-sampled to the input and min-max
    normalised per class.

    Args:
        cam_layers (int): last blocks whose class-to-patch attention is summed. Default: 3.
        **kwargs: :class:`CAMSegmentor` arguments.
    """

    def __init__(self, *args, cam_layers: int = 3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if cam_layers < 1:
            raise ValueError(f'cam_layers must be >= 1, got {cam_layers}')
        self.cam_layers = cam_layers

    def cam_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Min-max normalised V2 maps of all foreground classes at the input size."""
        feats = self.extract_feat(inputs)
        patch_cam = self.decode_head.forward(feats)
        c = patch_cam.shape[1]
        attention = head_averaged_attention(feats[2])
        cams = fused_class_attention(patch_cam, attention, self.cam_layers)
        cams = patch_affinity_refine(cams, attention[:, :, c:, c:].sum(dim=0))
        cams = F.interpolate(cams, size=inputs.shape[2:], mode='bilinear', align_corners=False)
        return min_max_normalise(cams)
