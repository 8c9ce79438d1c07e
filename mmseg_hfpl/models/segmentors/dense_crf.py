"""Dense-CRF post-processing of a segmentor's test predictions (mmseg 1.x has none).

The final stage of the WSSS baselines refines the segmentor's (multi-scale + flip) softmax with a
dense CRF on the original RGB image before scoring:

* SEAM / hfpl (YudeWang/semantic-segmentation-codebase ``experiment/seamv1-pseudovoc/test.py``
  :80-97, hfpl ``eval_final_voc.py``:81-98): mean of the views' *logits*, softmax, then
  ``lib/utils/DenseCRF.py:dense_crf`` (``n_iters=1``, Gaussian sxy 3 compat 3, bilateral sxy 32
  srgb 13 compat 10, unary ``unary_from_softmax``) on the image read by ``cv2.imread`` (BGR to
  RGB).
* PMM (Eli-YiLi/WSSS_MMSeg ``mmseg/models/segmentors/encoder_decoder.py``:307-327): mean of the
  views' *softmax*, then ``DenseCRF`` (:287-305: 10 iterations, Gaussian sxy 1 compat 3,
  bilateral sxy 67 srgb 3 compat 4, unary ``unary_from_softmax``) on the image read by
  ``PIL.Image.open(...).convert('RGB')``.

:class:`DenseCRFPostProcessor` wraps any model with a ``test_step`` (an mmseg segmentor, a TTA
model, their DDP wrapper) and refines its predictions with
:func:`mmseg_hfpl.pseudo_labels.crf.crf_probabilities`; ``tools/test.py`` puts it around the
built model when the config sets ``test_crf=True`` (settings: the config's ``crf_model``).
:class:`MeanSegTTAModel` is mmseg's ``SegTTAModel`` that keeps the merged scores as
``seg_logits`` (mmseg's keeps the last view's), so that the CRF refines the merged prediction.
"""
from multiprocessing import Pool
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.registry import MODEL_WRAPPERS, MODELS
from mmseg.utils import SampleList
from PIL import Image
from torch import nn

from ...datasets.checks import read_image
from ...pseudo_labels.crf import crf_probabilities

CRF_KEYS = ('iterations', 'gaussian', 'bilateral')
IMAGE_BACKENDS = ('cv2', 'pillow')


@MODELS.register_module()
class MeanSegTTAModel(SegTTAModel):
    """mmseg's test-time augmentation whose merged sample carries the merged scores.

    mmseg's ``SegTTAModel`` writes the argmax of the mean softmax into ``pred_sem_seg`` but leaves
    ``seg_logits`` as the last view's; this one writes ``seg_logits`` such that their softmax is
    the merged distribution, so a post-processing step (:class:`DenseCRFPostProcessor`) refines
    the merged prediction.

    Args:
        module (dict | nn.Module): the segmentor.
        merge (str): ``'probs'``: mean of the views' softmax (mmseg; PMM's WSSS_MMSeg
            ``aug_test``), ``seg_logits`` = its log; ``'logits'``: mean of the views' logits
            (SEAM / hfpl final stage: softmax of the mean), ``seg_logits`` = that mean.
            Default: ``'probs'``.
        data_preprocessor (dict, optional): as for ``BaseTTAModel``.
    """

    def __init__(self, module: Union[dict, nn.Module], merge: str = 'probs',
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        if merge not in ('probs', 'logits'):
            raise ValueError(f"MeanSegTTAModel: merge={merge!r}, expected 'probs' or 'logits'")
        self.merge = merge

    def merge_preds(self, data_samples_list: List[SampleList]) -> SampleList:
        """One sample per image (metainfo of its first view) with ``seg_logits`` (merged scores
        as logits) and ``pred_sem_seg`` (their argmax, (1, H, W))."""
        if self.module.out_channels == 1:
            raise ValueError('MeanSegTTAModel merges multi-class scores; the segmentor has one '
                             'output channel (use SegTTAModel)')
        merged = []
        for views in data_samples_list:
            logits = torch.stack([v.seg_logits.data.float() for v in views])
            if self.merge == 'probs':
                scores = logits.softmax(dim=1).mean(dim=0).clamp(min=1e-30).log()
            else:
                scores = logits.mean(dim=0)
            sample = views[0].clone()
            sample.set_data({'seg_logits': PixelData(data=scores),
                             'pred_sem_seg': PixelData(data=scores.argmax(dim=0, keepdim=True))})
            merged.append(sample)
        return merged


def read_rgb(path: str, backend: str = 'cv2') -> np.ndarray:
    """The (H, W, 3) uint8 RGB image at ``path``: ``'cv2'`` decodes as ``cv2.imread`` (mmseg's
    ``LoadImageFromFile``, YudeWang's ``VOCDataset.load_image``), ``'pillow'`` as
    ``Image.open(path).convert('RGB')`` (WSSS_MMSeg ``encoder_decoder.py``:323)."""
    if backend == 'cv2':
        return np.ascontiguousarray(read_image(path)[..., ::-1])
    if backend == 'pillow':
        with Image.open(path) as img:
            return np.array(img.convert('RGB'))  # a copy: pydensecrf refuses read-only buffers
    raise ValueError(f'image_backend={backend!r}, expected one of {IMAGE_BACKENDS}')


def crf_refine_scores(task: Tuple[str, np.ndarray, str, dict]) -> np.ndarray:
    """CRF marginals (C, H, W) of one image: ``(img_path, probs (C, H, W), image_backend,
    crf kwargs)``; the unary is ``-log(clip(probs, 1e-5))`` of the softmax as it is
    (``unary_from_softmax``, both official final stages)."""
    path, probs, backend, crf = task
    image = read_rgb(path, backend)
    if image.shape[:2] != probs.shape[1:]:
        raise ValueError(f'dense CRF: image {path!r} is {image.shape[1]}x{image.shape[0]}, the '
                         f'prediction {probs.shape[2]}x{probs.shape[1]} (seg_logits must be at '
                         'the original image size, as mmseg\'s postprocess_result leaves them)')
    return crf_probabilities(image, probs, normalise=False, **crf)


def _innermost(model: nn.Module) -> nn.Module:
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


@MODEL_WRAPPERS.register_module()
@MODELS.register_module()
class DenseCRFPostProcessor(nn.Module):
    """Test-time dense-CRF refinement of any segmentor's predictions.

    ``test_step`` / ``val_step`` run the wrapped model's, take the softmax of each sample's
    ``seg_logits`` (at the original image size, after mmseg's ``postprocess_result`` or the TTA
    merge), run :func:`~mmseg_hfpl.pseudo_labels.crf.crf_probabilities` with the RGB image read
    from the sample's ``img_path`` and write back ``seg_logits`` = log of the CRF marginals and
    ``pred_sem_seg`` = their argmax, so the evaluators (IoUMetric, BoundaryFMetric) score the
    refined prediction.

    It is registered as a model wrapper: mmengine loads checkpoints into its :attr:`module`, the
    segmentor inside (through a TTA model and a DDP wrapper, if any).

    Args:
        model (nn.Module | dict): the model to refine (anything with ``test_step``; a dict is
            built from ``MODELS``). ``tools/test.py`` passes the runner's model, placed on its
            device (and, with ``--tta``, a :class:`MeanSegTTAModel`).
        crf (dict, optional): keyword arguments of ``crf_probabilities``: ``iterations``,
            ``gaussian`` (sxy, compat), ``bilateral`` (sxy, srgb, compat); the ones not given
            take its defaults (PSA's ``crf_inference``).
        image_backend (str): ``'cv2'`` or ``'pillow'`` decoding of the image (:func:`read_rgb`).
            Default: ``'cv2'``.
        workers (int): processes that run the CRFs of the images of a batch in parallel
            (0: in this process). mmseg's data preprocessor tests only batches of equal-size
            images, so this helps with ``test_dataloader.batch_size > 1`` on such data; VOC
            tests one image at a time. Default: 0.
    """

    def __init__(self,
                 model: Union[nn.Module, dict],
                 crf: Optional[dict] = None,
                 image_backend: str = 'cv2',
                 workers: int = 0) -> None:
        super().__init__()
        self.model = MODELS.build(model) if isinstance(model, dict) else model
        if not hasattr(self.model, 'test_step'):
            raise TypeError(f'DenseCRFPostProcessor: {type(self.model).__name__} has no '
                            'test_step')
        inner = self.model.module if is_model_wrapper(self.model) else self.model
        if isinstance(inner, BaseTTAModel) and not isinstance(inner, MeanSegTTAModel):
            raise TypeError(f'DenseCRFPostProcessor: the TTA model {type(inner).__name__} does '
                            'not keep the merged scores (mmseg\'s SegTTAModel keeps the last '
                            'view\'s seg_logits); set tta_model=dict(type=\'MeanSegTTAModel\')')
        crf = dict(crf or {})
        unknown = sorted(set(crf) - set(CRF_KEYS))
        if unknown:
            raise KeyError(f'DenseCRFPostProcessor: crf keys {unknown} are not settings of '
                           f'crf_probabilities {CRF_KEYS}')
        if image_backend not in IMAGE_BACKENDS:
            raise ValueError(f'DenseCRFPostProcessor: image_backend={image_backend!r}, expected '
                             f'one of {IMAGE_BACKENDS}')
        if int(workers) < 0:
            raise ValueError(f'DenseCRFPostProcessor: workers={workers} must be >= 0')
        self.crf = crf
        self.image_backend = image_backend
        self.workers = int(workers)

    @property
    def module(self) -> nn.Module:
        """The segmentor whose weights a checkpoint holds (mmengine loads into ``.module``)."""
        return _innermost(self.model)

    def forward(self, *args, **kwargs):
        raise NotImplementedError('DenseCRFPostProcessor refines predictions in test_step / '
                                  'val_step only (train the segmentor without it)')

    def test_step(self, data) -> SampleList:
        return self.refine(self.model.test_step(data))

    def val_step(self, data) -> SampleList:
        return self.refine(self.model.val_step(data))

    def refine(self, samples: SampleList) -> SampleList:
        """CRF-refine ``seg_logits`` / ``pred_sem_seg`` of each sample in place (and return
        the samples)."""
        tasks = []
        for sample in samples:
            if 'seg_logits' not in sample or 'img_path' not in sample:
                raise KeyError('DenseCRFPostProcessor: each prediction needs seg_logits and the '
                               f'img_path metainfo; got keys {sorted(sample.keys())}')
            logits = sample.seg_logits.data
            if logits.dim() != 3 or logits.shape[0] < 2:
                raise ValueError(f'DenseCRFPostProcessor: seg_logits of {sample.img_path!r} '
                                 f'have shape {tuple(logits.shape)}, expected (C >= 2, H, W)')
            probs = logits.float().softmax(dim=0).cpu().numpy()
            tasks.append((sample.img_path, probs, self.image_backend, self.crf))
        marginals = self._run(tasks)
        for sample, marg in zip(samples, marginals):
            device = sample.seg_logits.data.device
            marg = torch.from_numpy(marg).to(device)
            sample.set_data({
                'seg_logits': PixelData(data=marg.clamp(min=1e-30).log()),
                'pred_sem_seg': PixelData(data=marg.argmax(dim=0, keepdim=True))
            })
        return samples

    def _run(self, tasks: Sequence[tuple]) -> List[np.ndarray]:
        workers = min(self.workers, len(tasks))
        if workers > 1:
            with Pool(workers) as pool:
                return pool.map(crf_refine_scores, tasks)
        return [crf_refine_scores(t) for t in tasks]
