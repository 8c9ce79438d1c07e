"""Multi-scale + flip CAM inference for a trained WSSS model, and the CAM files it writes."""
import json
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..fileio import atomic_path
from .writer import write_npz


@torch.no_grad()
def multi_scale_cams(model,
                     image: np.ndarray,
                     label: np.ndarray,
                     scales: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                     flip: bool = True,
                     normalisation: str = 'max',
                     with_thresholds: bool = False) -> tuple:
    """CAMs of the labelled classes of one image, aggregated as the baselines do.

    For every scale (and its horizontal flip) the image is resized as the official loaders do
    (:func:`resize_bicubic`: PIL bicubic on the uint8 image) and normalised by the model's data
    preprocessor. The passes are then fused in one of two ways:

    - default: ``model.cam_scores`` of the labelled classes, up-sampled to the image size, summed
      into one accumulator (memory is one (K, H, W) map however many scales), then ReLU and a
      per-class normalisation (:func:`normalise_cams`: ``'max'``, eq. 4, or the ``'min_max'`` of
      SEAM / hfpl / PMM);
    - a model that declares its own fusion (``fuse_cam_passes``, Spatial-BCE): every map of
      ``model.cam_pass_maps`` (feature grid, one channel per foreground class) is up-sampled
      straight to the image size (bilinear, ``align_corners=False``), flipped back and averaged
      over the passes; ``model.fuse_cam_passes(mean maps, classes)`` turns the means into the
      normalised CAMs (and, where the model learns them, per-class ``thresholds``). Its fusion
      ends in its own normalisation: only ``normalisation='max'`` is accepted.

    A model whose ``cam_background`` is true (SIPE) returns its own background map as channel 0
    of ``cam_scores``; it is kept, normalised like the classes, as class 0 of the result, and
    every consumer (:func:`labels_from_cams`, the CRFs, the curve, the random walk) uses it
    instead of a constant background score.

    Args:
        model: a :class:`CAMSegmentor` (or any model with ``data_preprocessor`` and
            ``cam_scores(inputs, metas)`` returning (1, C-1, h, w) foreground scores, or
            (1, C, h, w) background + foreground scores with ``cam_background = True``; or
            ``cam_pass_maps`` + ``fuse_cam_passes`` as above).
        image: (H, W, 3) uint8 image in the channel order of the dataset loader (BGR).
        label: (C-1, ) multi-hot image-level label.
        normalisation: ``'max'`` or ``'min_max'`` (see :func:`normalise_cams`).
        with_thresholds: also return the model's learned per-class thresholds (K, ) (None for
            a model without them).

    Returns:
        (cams (K, H, W) float32 in [0, 1], classes (K, ) int64 segmentation class indices,
        starting with 0 when the model provides a background map), plus the thresholds with
        ``with_thresholds``.
    """
    keys = np.flatnonzero(np.asarray(label) > 0)
    h, w = image.shape[:2]
    classes = keys + 1
    fused = hasattr(model, 'fuse_cam_passes')
    if len(keys) == 0:
        empty = np.zeros((0, h, w), np.float32), classes
        return empty + ((np.zeros(0, np.float32) if fused else None, ) if with_thresholds else ())
    if getattr(model, 'cam_background', False):
        classes = np.concatenate([[0], classes])
        keys = classes  # channel 0 of cam_scores is the background
    if normalisation not in NORMALISATIONS:
        raise ValueError(f'normalisation must be one of {NORMALISATIONS}, got {normalisation!r}')
    if fused and normalisation != 'max':
        raise ValueError(f'{type(model).__name__} fuses its passes itself (fuse_cam_passes, '
                         f"ending in a max-normalisation): normalisation must be 'max', got "
                         f'{normalisation!r}')
    device = next(model.parameters()).device
    index = torch.as_tensor(keys, device=device)
    totals = {}
    passes = 0
    for scale in scales:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        img = torch.from_numpy(np.ascontiguousarray(resize_bicubic(image, size))).permute(
            2, 0, 1).float()
        batch = [img] + ([img.flip(-1)] if flip else [])
        data = model.data_preprocessor(dict(inputs=batch), False)
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size, img_label=label)] * len(batch)
        if fused:  # official make_cam.py:75-83: each pass up-sampled, then flipped back
            maps = {k: flip_sum(F.interpolate(v[:, index], size=(h, w), mode='bilinear',
                                              align_corners=False), flip)
                    for k, v in model.cam_pass_maps(data['inputs'], metas).items()}
        elif flip and hasattr(model, 'flip_pair_scores'):
            # SIPE: the pair fused inside the network (resnet50_SIPE.py:140-151), its IS-CAM
            # up-sampled straight to the image size (make_cam.py:57)
            scores = model.flip_pair_scores(data['inputs'], metas)[:, index]
            maps = {'scores': F.interpolate(scores, size=(h, w), mode='bilinear',
                                            align_corners=False)}
        else:
            scores = model.cam_scores(data['inputs'], metas)[:, index, :size[0], :size[1]]
            maps = {'scores': F.interpolate(flip_sum(scores, flip), size=(h, w),
                                            mode='bilinear', align_corners=False)}
        for k, v in maps.items():
            totals[k] = totals[k] + v if k in totals else v
        passes += len(batch)
    thresholds = None
    if fused:
        out = model.fuse_cam_passes({k: v / passes for k, v in totals.items()}, index)
        cams = out['cams'][0]
        if out.get('thresholds') is not None:
            thresholds = out['thresholds'][0].cpu().numpy().astype(np.float32)
    else:
        cams = normalise_cams(totals['scores'][0], normalisation)
    cams = cams.cpu().numpy().astype(np.float32)
    return (cams, classes) + ((thresholds, ) if with_thresholds else ())


NORMALISATIONS = ('max', 'min_max')


def flip_sum(maps: torch.Tensor, flip: bool) -> torch.Tensor:
    """(1, K, h, w): a pass, or the sum of a pass (index 0) and its mirrored twin flipped back."""
    return maps[:1] + maps[1:].flip(-1) if flip else maps[:1]


def resize_bicubic(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(H', W', 3) uint8 resize of a uint8 image to ``size`` (h, w) with PIL's bicubic filter, as
    the official multi-scale loaders (SEAM / hfpl ``VOC12ClsDatasetMSF``, IRN ``pil_rescale``)
    resize their inputs; the same size returns the image unchanged."""
    if tuple(size) == image.shape[:2]:
        return image
    out = Image.fromarray(np.ascontiguousarray(image)).resize((size[1], size[0]), Image.BICUBIC)
    return np.asarray(out)


def normalise_cams(total: torch.Tensor, normalisation: str = 'max') -> torch.Tensor:
    """Per-class normalisation of summed multi-scale CAMs (K, H, W), after a ReLU.

    - ``'max'``: ``r / (max r + 1e-5)`` (eq. 4; SIPE, IRN).
    - ``'min_max'``: the official SEAM / hfpl / PMM inference (``infer_cam_voc.py``): values
      below ``min + 1e-5`` are set to 0, then ``(r - min - 1e-5) / (max - min + 1e-5)``; so those
      pixels end slightly below 0, as there.
    """
    cams = total.clamp(min=0)
    peak = cams.flatten(1).max(dim=1)[0][:, None, None]
    if normalisation == 'max':
        return cams / (peak + 1e-5)
    low = cams.flatten(1).min(dim=1)[0][:, None, None]
    cams = torch.where(cams < low + 1e-5, torch.zeros_like(cams), cams)
    return (cams - low - 1e-5) / (peak - low + 1e-5)


def save_cams(path: str, cams: np.ndarray, classes: np.ndarray,
              thresholds: Optional[np.ndarray] = None) -> None:
    """Atomically write ``{cams: float16 (K, H, W), classes: (K,)}`` as a compressed .npz, with
    the model's learned per-class ``thresholds`` (K,) (float32) where it has them."""
    extra = {} if thresholds is None else dict(thresholds=np.asarray(thresholds, np.float32))
    write_npz(path, cams=cams.astype(np.float16), classes=classes.astype(np.int64), **extra)


def load_cams(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """(cams float32 (K, H, W), classes (K,)) from :func:`save_cams`."""
    with np.load(path) as data:
        return data['cams'].astype(np.float32), data['classes']


def load_thresholds(path: str) -> np.ndarray:
    """The learned thresholds (K,) saved with the CAMs of :func:`save_cams`; a ``KeyError``
    naming the file when it has none (a model without learned thresholds made it)."""
    with np.load(path) as data:
        if 'thresholds' not in data:
            raise KeyError(f'{path} holds no learned thresholds (made by a model without a '
                           "threshold head): adaptive thresholds need Spatial-BCE's CAMs")
        return data['thresholds'].astype(np.float32)


def split_background(cams: np.ndarray,
                     classes: np.ndarray) -> Tuple[Optional[np.ndarray], np.ndarray, np.ndarray]:
    """(background map (H, W) or None, foreground CAMs, foreground classes) of saved CAMs."""
    if len(classes) and classes[0] == 0:
        return cams[0], cams[1:], classes[1:]
    return None, cams, classes


def scores_with_background(cams: np.ndarray, classes: np.ndarray,
                           bg_level: float) -> Tuple[np.ndarray, np.ndarray]:
    """(scores (1 + K', H, W), keys (1 + K', )) with the background first.

    ``bg_level`` is the constant background score for foreground-only CAMs (the usual
    threshold), and the factor on the model's own background map otherwise (SIPE: 1 for its
    labels, 0.5 for IRN's confident background); raising it gives more background either way.
    """
    bg_map, fg, fg_classes = split_background(cams, classes)
    bg = np.full((1, ) + cams.shape[1:], bg_level, np.float32) if bg_map is None else \
        (bg_map * bg_level)[None].astype(np.float32)
    return np.concatenate([bg, fg]), np.concatenate([[0], fg_classes]).astype(np.int64)


def threshold_shift(cams, thresholds):
    """Spatial-BCE's adaptive scores (official ``make_cam.transnpy``:
    ``where(cam > t, cam - t, -1)`` per class): ``cams`` (K, H, W), ``thresholds`` (K, ); numpy
    arrays or tensors. With a background score of 0 (``eval.py`` / ``make_crf.py`` with
    ``threshold`` 0) a class wins where it exceeds its threshold by the largest margin."""
    shifted = cams - thresholds[:, None, None]
    shifted[shifted <= 0] = -1  # cam - t > 0 exactly where cam > t
    return shifted


def labels_from_cams(cams: np.ndarray, classes: np.ndarray, bg_threshold: float,
                     shape: Optional[Tuple[int, int]] = None,
                     thresholds: Optional[np.ndarray] = None) -> np.ndarray:
    """Pseudo-label (H, W) uint8: argmax over [background, CAMs of the classes], the background
    being ``bg_threshold`` or the model's background map times it
    (:func:`scores_with_background`); with per-class learned ``thresholds`` (K, ) the argmax over
    [0, :func:`threshold_shift` of the CAMs] instead (``bg_threshold`` unused)."""
    if len(classes) == 0:
        return np.zeros(shape if shape is not None else cams.shape[1:], np.uint8)
    if thresholds is not None:
        if len(thresholds) != len(classes) or classes[0] == 0:
            raise ValueError(f'thresholds must be one per foreground class ({len(classes)} '
                             f'classes {classes.tolist()}), got {len(thresholds)}')
        cams = threshold_shift(cams.astype(np.float32), np.asarray(thresholds, np.float32))
        bg_threshold = 0.0
    scores, keys = scores_with_background(cams, classes, bg_threshold)
    return keys.astype(np.uint8)[np.argmax(scores, axis=0)]


def write_manifest(out_dir: str, info: dict) -> None:
    with atomic_path(osp.join(out_dir, 'manifest.json')) as tmp, open(tmp, 'w') as f:
        json.dump(info, f, indent=1)
