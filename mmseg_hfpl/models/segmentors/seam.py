from typing import Dict, List

import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from .cam_segmentor import CAMSegmentor


@MODELS.register_module()
class SEAMSegmentor(CAMSegmentor):
    """SEAM's siamese training (Wang et al., CVPR 2020) with an optional hfpl add-on.

    ``loss`` runs the network on the input and on its ``scale_factor`` (0.3) bilinear rescaling
    (``align_corners=True``, as the official code) and hands both outputs to
    :class:`~mmseg_hfpl.models.SEAMHead`, which computes the GAP, ISL, min-pooling, ER, ECR and
    FSL terms. ``cam_scores`` (used by ``predict`` and by the pseudo-label tools) returns the
    PCM-refined CAM ``cam_rv`` up-sampled to the input, so the whole pseudo-label pipeline of
    :class:`CAMSegmentor` applies unchanged.
    """

    def __init__(self, *args, scale_factor: float = 0.3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 0 < scale_factor < 1:
            raise ValueError(f'scale_factor must be in (0, 1), got {scale_factor}')
        self.scale_factor = scale_factor

    def _head_outputs(self, inputs: Tensor) -> Dict[str, Tensor]:
        return self.decode_head(self.extract_feat(inputs), inputs)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        small = F.interpolate(inputs, scale_factor=self.scale_factor, mode='bilinear',
                              align_corners=True)
        out1, out2 = self._head_outputs(inputs), self._head_outputs(small)
        losses = self.decode_head.loss_by_feat(out1, out2, data_samples, inputs.shape[2:],
                                               small.shape[2:], rgb1=self.rgb_inputs(inputs))
        return {f'decode.{k}': v for k, v in losses.items()}

    def cam_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Foreground ``cam_rv`` up-sampled to the input size (B, C-1, H, W)."""
        cam_rv = self._head_outputs(inputs)['cam_rv'][:, 1:]
        return F.interpolate(cam_rv, size=inputs.shape[2:], mode='bilinear', align_corners=True)

    def _forward(self, inputs: Tensor, data_samples: SampleList = None) -> Tensor:
        return self._head_outputs(inputs)['logits']
