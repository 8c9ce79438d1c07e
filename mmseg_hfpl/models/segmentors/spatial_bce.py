from typing import List

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ..heads.cam_head import stack_image_labels
from .cam_segmentor import CAMSegmentor


def winner_max_norm(prob: Tensor, label: Tensor) -> Tensor:
    """Spatial-BCE's normalised CAM (official ``make_cam.py``): the scores of the labelled
    classes, each kept only where it is the top class, divided by its maximum (+1e-8)."""
    cams = prob * label[..., None, None]
    cams = cams.masked_fill(cams < cams.max(dim=1, keepdim=True)[0], 0)
    return cams / (cams.flatten(2).max(dim=2)[0][..., None, None] + 1e-8)


def adaptive_thresholds(threshold_score: Tensor, temperature: Tensor) -> Tensor:
    """Per-image, per-class thresholds (B, C) in the sigmoid space of the CAMs: the learned
    ``a = sigmoid(mean threshold-head output)`` lives in the space of ``sigmoid(exp(T) x)``, so
    the CAM threshold is ``sigmoid(logit(a) / exp(T))`` (the root that official
    ``make_cam.transnpy`` finds with ``fsolve``, in closed form)."""
    a = torch.sigmoid(threshold_score.flatten(2).mean(dim=2))
    return torch.sigmoid(torch.logit(a) / temperature.exp())


@MODELS.register_module()
class SpatialBCESegmentor(CAMSegmentor):
    """Spatial-BCE (Wu et al., ECCV 2022) with :class:`~mmseg_hfpl.models.SpatialBCEHead`.

    ``cam_scores`` returns the sigmoid of the CAMs up-sampled to the input (bilinear,
    ``align_corners=False`` as the official ``make_cam.py``), so ``multi_scale_cams`` and
    ``tools/make_pseudo_labels.py`` (sum over scales + flips, max-norm, constant background
    score) apply unchanged. ``predict`` (``tools/test.py``, validation) normalises each class by
    its maximum over the pixels it wins (official) and labels with ``test_cfg.threshold``:

    - ``'fixed'`` (default): argmax over [``bg_threshold``, CAMs] (the "optimal threshold" runs);
    - ``'adaptive'``: a class wins a pixel where its normalised CAM exceeds its learned
      threshold (:func:`adaptive_thresholds`), by the largest margin; background elsewhere.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.threshold_mode = (self.test_cfg or {}).get('threshold', 'fixed')
        if self.threshold_mode not in ('fixed', 'adaptive'):
            raise ValueError(f"test_cfg.threshold must be 'fixed' or 'adaptive', got "
                             f'{self.threshold_mode!r}')

    def cam_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Foreground scores ``sigmoid(CAM)`` at the input size (B, C-1, H, W)."""
        cam = self.decode_head.predict(self.extract_feat(inputs), batch_img_metas, self.test_cfg)
        return torch.sigmoid(F.interpolate(cam, size=inputs.shape[2:], mode='bilinear',
                                           align_corners=False))

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('SpatialBCESegmentor.predict needs data samples (image metas and '
                             "image-level labels, or label_source='pred')")
        out = self.decode_head.forward(self.extract_feat(inputs))
        thresholds = adaptive_thresholds(out['threshold'], self.decode_head.temperature)
        prob = torch.sigmoid(F.interpolate(out['cam'], size=inputs.shape[2:], mode='bilinear',
                                           align_corners=False))
        data_samples = self.postprocess_result(prob, data_samples)
        if self.label_source == 'gt':
            labels = stack_image_labels(data_samples, self.decode_head.num_fg).to(prob.device)
        for i, sample in enumerate(data_samples):
            score = sample.seg_logits.data[None]
            # 'pred': the classes some pixel scores above 0.5 (sigmoid) for
            label = labels[i] if self.label_source == 'gt' else \
                (score.flatten(2).max(dim=2)[0][0] > 0.5).float()
            cams = winner_max_norm(score, label[None])[0]
            if self.threshold_mode == 'adaptive':
                t = thresholds[i][:, None, None]
                cams = torch.where(cams > t, cams - t, torch.full_like(cams, -1.0))
                bg = torch.zeros_like(cams[:1])
            else:
                bg = torch.full_like(cams[:1], self.bg_threshold)
            scores = torch.cat([bg, cams])
            sample.seg_logits = PixelData(data=scores)
            sample.pred_sem_seg = PixelData(data=scores.argmax(dim=0, keepdim=True))
        return data_samples
