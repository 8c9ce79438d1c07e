from typing import List

from mmseg.registry import MODELS
from torch import Tensor

from .cam_segmentor import CAMSegmentor


@MODELS.register_module()
class SIPESegmentor(CAMSegmentor):
    """SIPE (Chen et al., CVPR 2022) with an optional hfpl add-on.

    Training is :class:`CAMSegmentor`'s (the :class:`~mmseg_hfpl.models.SIPEHead` computes the
    GAP, GSC and add-on losses). Inference returns the IS-CAM with SIPE's own background map as
    channel 0 (``cam_background``), so pseudo-labels are the argmax over [background, classes]
    (``test_cfg.bg_threshold`` = 1 is SIPE's; it scales the background map) and the CRF, curve
    and random-walk consumers use that map.
    """
    cam_background = True

    def flip_pair_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """IS-CAM (B/2, C, h, w) at the feature grid of a batch of pairs (image, its horizontal
        flip) at 2i, 2i + 1, fused inside the network as SIPE's inference
        (``resnet50_SIPE.py:140-151``: CAM logits and hierarchical features summed over the pair
        before the seeds), in the first image's orientation; SIPE's ``make_cam.py:57`` up-samples
        it straight to the image size and sums over the scales."""
        return self.decode_head.predict(self.extract_feat(inputs), batch_img_metas,
                                        self.test_cfg, flip_pairs=True)
