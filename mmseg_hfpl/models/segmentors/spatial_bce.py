import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.runner.checkpoint import _load_checkpoint
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ...pseudo_labels.cam_inference import threshold_shift
from ..heads.cam_head import stack_image_labels
from .cam_segmentor import CAMSegmentor


def winner_max_norm(prob: Tensor, label: Tensor) -> Tensor:
    """Spatial-BCE's normalised CAM (official ``make_cam.py:89-96``): the scores of the labelled
    classes, each kept only where it is the top class, divided by its maximum (+1e-8)."""
    cams = prob * label[..., None, None]
    cams = cams.masked_fill(cams < cams.max(dim=1, keepdim=True)[0], 0)
    return cams / (cams.flatten(2).max(dim=2)[0][..., None, None] + 1e-8)


def adaptive_thresholds(threshold_score: Tensor, temperature: Tensor) -> Tensor:
    """Per-image, per-class thresholds (B, C) in the sigmoid space of the CAMs: the learned
    ``a = sigmoid(mean threshold-head output)`` (official ``make_cam.py:98-101``) lives in the
    space of ``sigmoid(exp(T) x)``, so the CAM threshold is ``sigmoid(logit(a) / exp(T))`` (the
    root that official ``make_cam.transnpy`` finds with ``fsolve``, in closed form)."""
    a = torch.sigmoid(threshold_score.flatten(2).mean(dim=2))
    return torch.sigmoid(torch.logit(a) / temperature.exp())


def fuse_cam_passes(cam: Tensor, threshold: Tensor,
                    temperature: Tensor) -> Tuple[Tensor, Tensor]:
    """Spatial-BCE's multi-scale fusion (official ``make_cam.py:75-101``), on the passes' mean.

    Args:
        cam: (B, K, H, W) raw CAMs of the labelled classes (class heads before the temperature,
            official ``forward_cam``) up-sampled to the image size and averaged over the scales
            and flips (``np.mean(cam_list)``).
        threshold: (B, K, H, W) the threshold head's output, up-sampled and averaged likewise.
        temperature: (K, ) log temperatures of these classes.

    Returns:
        (normalised CAMs (B, K, H, W): the sigmoid of the mean, each pixel kept for its top
        class only, divided by the class maximum (:func:`winner_max_norm`); learned thresholds
        (B, K) in that space (:func:`adaptive_thresholds`)).
    """
    prob = torch.sigmoid(cam)
    cams = winner_max_norm(prob, prob.new_ones(prob.shape[:2]))
    return cams, adaptive_thresholds(threshold, temperature)


@MODELS.register_module()
class SpatialBCESegmentor(CAMSegmentor):
    """Spatial-BCE (Wu et al., ECCV 2022) with :class:`~mmseg_hfpl.models.SpatialBCEHead`.

    One fusion, the official one (:func:`fuse_cam_passes`), serves ``predict`` (``tools/test.py``,
    validation: one pass at the test pipeline's size) and the multi-scale + flip inference of
    ``tools/make_pseudo_labels.py`` (:func:`~mmseg_hfpl.pseudo_labels.multi_scale_cams`, which
    averages the maps of :meth:`cam_pass_maps` over the passes at the image size and hands the
    mean to :meth:`fuse_cam_passes`). Pseudo-labels follow ``test_cfg.threshold``:

    - ``'fixed'`` (default): argmax over [``bg_threshold``, CAMs] (the "optimal threshold" runs);
    - ``'adaptive'``: a class wins a pixel where its normalised CAM exceeds its learned
      threshold, by the largest margin; background elsewhere (official ``transnpy`` + ``eval.py``
      with background 0: :func:`~mmseg_hfpl.pseudo_labels.cam_inference.threshold_shift`).
    """

    def __init__(self, *args, init_checkpoint: Optional[str] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.init_checkpoint = init_checkpoint
        self.threshold_mode = (self.test_cfg or {}).get('threshold', 'fixed')
        if self.threshold_mode not in ('fixed', 'adaptive'):
            raise ValueError(f"test_cfg.threshold must be 'fixed' or 'adaptive', got "
                             f'{self.threshold_mode!r}')

    def init_weights(self) -> None:
        """The usual initialisation, then ``init_checkpoint`` when set: a state dict of the
        official ``models/resnet38.py`` ``ResNet38`` (flat names: ``conv1a``, ``b2`` ... ``bn7``
        of the backbone, ``mask_layer_downsample``, ``fc_list``, ``threshold``, ``temperature``
        of the head), loaded as the official ``train.py:63-73`` ``--pretrain``: every key the
        model has, the others (e.g. a classifier) ignored. Phase 1 of the official scripts
        starts from the released ``voc12_init.pth`` this way."""
        super().init_weights()
        if self.init_checkpoint is None:
            return
        path = self.init_checkpoint
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Spatial-BCE initial weights {path!r} (model.init_checkpoint) not found: phase 1 '
                "starts from the official voc12_init.pth (allenwu97/Spatial-BCE README.txt, "
                '"Pretrain_Model", Google Drive), e.g. `mkdir -p pretrain && mv voc12_init.pth '
                'pretrain/`; or set model.init_checkpoint=None to start from ImageNet weights')
        state = _load_checkpoint(path, map_location='cpu')
        state = state.get('state_dict', state) if isinstance(state, dict) else state
        ours = self.state_dict()
        mapped, ignored = {}, []
        for key, value in state.items():
            key = key[len('module.'):] if key.startswith('module.') else key
            for prefix in ('backbone.', 'decode_head.'):
                if prefix + key in ours:
                    mapped[prefix + key] = value
                    break
            else:
                ignored.append(key)
        if not any(k.startswith('backbone.') for k in mapped):
            raise ValueError(f'{path!r} (model.init_checkpoint) holds none of the ResNet-38 '
                             f'parameters (conv1a, b2 ... bn7); its keys start with '
                             f'{sorted(state)[:5]}')
        self.load_state_dict(mapped, strict=False)
        print_log(f'init_checkpoint {path}: {len(mapped)} tensors loaded '
                  f'({sum(k.startswith("decode_head.") for k in mapped)} of the head), '
                  f'{len(ignored)} ignored {ignored[:5]}', logger='current')

    def cam_scores(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Foreground scores ``sigmoid(CAM)`` at the input size (B, C-1, H, W), per pass (the
        fused pseudo-labels come from :meth:`cam_pass_maps` + :meth:`fuse_cam_passes`)."""
        cam = self.decode_head.predict(self.extract_feat(inputs), batch_img_metas, self.test_cfg)
        return torch.sigmoid(F.interpolate(cam, size=inputs.shape[2:], mode='bilinear',
                                           align_corners=False))

    def cam_pass_maps(self, inputs: Tensor, batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """The maps averaged over the passes (official ``make_cam.py:75``, ``forward_cam``), at
        the feature grid, one channel per foreground class (B, C-1, h, w): ``cam``, the class
        heads' output before the temperature, and ``threshold``, the threshold head's."""
        out = self.decode_head.forward(self.extract_feat(inputs))
        return dict(cam=out['cam'], threshold=out['threshold'])

    def fuse_cam_passes(self, maps: Dict[str, Tensor], classes: Tensor) -> Dict[str, Tensor]:
        """:func:`fuse_cam_passes` of the mean maps (B, K, H, W) of the foreground classes
        ``classes`` (K, ) (0-based): ``cams`` (B, K, H, W) and ``thresholds`` (B, K)."""
        cams, thresholds = fuse_cam_passes(maps['cam'], maps['threshold'],
                                           self.decode_head.temperature[classes])
        return dict(cams=cams, thresholds=thresholds)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        if data_samples is None:
            raise ValueError('SpatialBCESegmentor.predict needs data samples (image metas and '
                             "image-level labels, or label_source='pred')")
        maps = self.cam_pass_maps(inputs, [s.metainfo for s in data_samples])
        num_fg = maps['cam'].shape[1]
        # both maps to the input size, then (mmseg's postprocess_result) without the padding at
        # the original size: the one pass of make_cam.py, up-sampled to the image
        stacked = F.interpolate(torch.cat([maps['cam'], maps['threshold']], dim=1),
                                size=inputs.shape[2:], mode='bilinear', align_corners=False)
        data_samples = self.postprocess_result(stacked, data_samples)
        if self.label_source == 'gt':
            labels = stack_image_labels(data_samples, self.decode_head.num_fg).to(inputs.device)
        for i, sample in enumerate(data_samples):
            cam, thr = sample.seg_logits.data[:num_fg], sample.seg_logits.data[num_fg:]
            # 'pred': the classes some pixel scores above 0.5 (sigmoid) for
            label = labels[i] if self.label_source == 'gt' else \
                (torch.sigmoid(cam).flatten(1).max(dim=1)[0] > 0.5).float()
            keys = torch.nonzero(label > 0)[:, 0]
            fused = self.fuse_cam_passes(dict(cam=cam[keys][None], threshold=thr[keys][None]),
                                         keys)
            cams = cam.new_zeros(cam.shape)
            cams[keys] = fused['cams'][0]
            if self.threshold_mode == 'adaptive':
                t = cam.new_ones(num_fg)  # absent classes: never above (score -1)
                t[keys] = fused['thresholds'][0]
                cams = threshold_shift(cams, t)
                bg = torch.zeros_like(cams[:1])
            else:
                bg = torch.full_like(cams[:1], self.bg_threshold)
            scores = torch.cat([bg, cams])
            sample.seg_logits = PixelData(data=scores)
            sample.pred_sem_seg = PixelData(data=scores.argmax(dim=0, keepdim=True))
        return data_samples
