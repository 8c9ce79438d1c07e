from typing import Dict, List

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...losses.functional import max_norm
from ..heads.add_on import rgb_inputs
from ..heads.cam_head import stack_image_labels


@MODELS.register_module()
class CAMSegmentor(EncoderDecoder):
    """Weakly-supervised segmentor: trains a CAM head from image-level labels and predicts CAM
    pseudo-labels.

    ``loss`` passes the image-level labels (``gt_img_label``) and the network input,
    de-normalised with the data preprocessor's mean/std to RGB in [0, 1], to the CAM head, so
    the add-on's FSL can use it.

    ``predict`` returns, per image at its original size, ``seg_logits`` = [background score,
    max-normalised CAMs ``r_c`` (eq. 4)] with the classes absent from the image's labels set to 0,
    and ``pred_sem_seg`` = their argmax, i.e. pseudo-labels with the background where every
    class scores below ``test_cfg.bg_threshold``. ``test_cfg.label_source='gt'`` (default)
    restricts the CAMs to the ground-truth image labels, as WSSS pseudo-label generation does;
    ``'pred'`` uses the classes with a positive GAP score instead. ``tools/test.py`` thus
    scores the pseudo-labels directly.
    """

    #: ``cam_scores`` returns the model's own background map as channel 0 (SIPE); pseudo-labels
    #: then take the background from it (times ``bg_threshold``) instead of a constant.
    cam_background = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.test_cfg or {}
        self.bg_threshold = float(cfg.get('bg_threshold', 0.25))
        self.label_source = cfg.get('label_source', 'gt')
        if self.label_source not in ('gt', 'pred'):
            raise ValueError(f"test_cfg.label_source must be 'gt' or 'pred', got "
                             f'{self.label_source!r}')

    def rgb_inputs(self, inputs: Tensor) -> Tensor:
        """The network input de-normalised to RGB (or BGR, as fed) in [0, 1]
        (:func:`~mmseg_hfpl.models.heads.add_on.rgb_inputs`)."""
        return rgb_inputs(inputs, self.data_preprocessor)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        x = self.extract_feat(inputs)
        losses = self.decode_head.loss(x, data_samples, self.train_cfg,
                                       images=self.rgb_inputs(inputs))
        return {f'decode.{k}': v for k, v in losses.items()}

    def cam_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Foreground class scores up-sampled to the input size (B, C-1, H, W); with
        ``cam_background``, background + class scores (B, C, H, W)."""
        scores = self.decode_head.predict(self.extract_feat(inputs), batch_img_metas,
                                          self.test_cfg)
        return F.interpolate(scores, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('CAMSegmentor.predict needs data samples (image metas and, with '
                             "label_source='gt', image-level labels)")
        batch_img_metas = [s.metainfo for s in data_samples]
        if self.label_source == 'gt':
            labels = stack_image_labels(data_samples, self.decode_head.num_fg).to(inputs.device)
            # models whose inference uses the labels (SIPE's seeds) read them from the metas
            batch_img_metas = [dict(m, img_label=labels[i]) for i, m in enumerate(batch_img_metas)]
        scores = self.cam_scores(inputs, batch_img_metas)
        # crop the padding and resize to the original size (mmseg's postprocess_result)
        data_samples = self.postprocess_result(scores, data_samples)
        for i, sample in enumerate(data_samples):
            score = sample.seg_logits.data[None]
            fg = score[:, 1:] if self.cam_background else score
            label = labels[i] if self.label_source == 'gt' else \
                (fg.mean(dim=(2, 3))[0] > 0).float()
            cams = self.pseudo_label_scores(score, label[None])[0]
            sample.seg_logits = PixelData(data=cams)
            sample.pred_sem_seg = PixelData(data=cams.argmax(dim=0, keepdim=True))
        return data_samples

    def pseudo_label_scores(self, score: Tensor, label: Tensor) -> Tensor:
        """[background, r_c * y_c] (B, C, H, W) from class scores (B, C-1, H, W): the background
        is ``bg_threshold``, or, with ``cam_background`` (scores (B, C, H, W), background
        first), the max-normalised background map times ``bg_threshold``."""
        if self.cam_background:
            keep = torch.cat([torch.full_like(label[:, :1], self.bg_threshold), label], dim=1)
            return max_norm(score) * keep[..., None, None]  # eq. 4 on every map
        cams = max_norm(score) * label[..., None, None]  # eq. 4, labelled classes only
        bg = torch.full_like(cams[:, :1], self.bg_threshold)
        return torch.cat([bg, cams], dim=1)
