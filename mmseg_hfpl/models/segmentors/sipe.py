from mmseg.registry import MODELS

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
