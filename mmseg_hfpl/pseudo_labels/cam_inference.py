"""Multi-scale + flip CAM inference for a trained WSSS model, and the CAM files it writes."""
import json
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .writer import write_npz


@torch.no_grad()
def multi_scale_cams(model,
                     image: np.ndarray,
                     label: np.ndarray,
                     scales: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                     flip: bool = True,
                     normalisation: str = 'max') -> Tuple[np.ndarray, np.ndarray]:
    """CAMs of the labelled classes of one image, aggregated as the baselines do.

    For every scale (and its horizontal flip) the image is resized as the official loaders do
    (:func:`resize_bicubic`: PIL bicubic on the uint8 image), normalised by the model's data
    preprocessor and passed through ``model.cam_scores``; the class scores of the labelled
    classes are up-sampled to the image size and summed into one accumulator (memory is one
    (K, H, W) map however many scales), then ReLU and a per-class normalisation
    (:func:`normalise_cams`: ``'max'``, eq. 4, or the ``'min_max'`` of SEAM / hfpl / PMM).

    A model whose ``cam_background`` is true (SIPE) returns its own background map as channel 0
    of ``cam_scores``; it is kept, normalised like the classes, as class 0 of the result, and
    every consumer (:func:`labels_from_cams`, the CRFs, the curve, the random walk) uses it
    instead of a constant background score.

    Args:
        model: a :class:`CAMSegmentor` (or any model with ``data_preprocessor`` and
            ``cam_scores(inputs, metas)`` returning (1, C-1, h, w) foreground scores, or
            (1, C, h, w) background + foreground scores with ``cam_background = True``).
        image: (H, W, 3) uint8 image in the channel order of the dataset loader (BGR).
        label: (C-1, ) multi-hot image-level label.
        normalisation: ``'max'`` or ``'min_max'`` (see :func:`normalise_cams`).

    Returns:
        (cams (K, H, W) float32 in [0, 1], classes (K, ) int64 segmentation class indices,
        starting with 0 when the model provides a background map).
    """
    keys = np.flatnonzero(np.asarray(label) > 0)
    h, w = image.shape[:2]
    classes = keys + 1
    if len(keys) == 0:
        return np.zeros((0, h, w), np.float32), classes
    if getattr(model, 'cam_background', False):
        classes = np.concatenate([[0], classes])
        keys = classes  # channel 0 of cam_scores is the background
    if normalisation not in NORMALISATIONS:
        raise ValueError(f'normalisation must be one of {NORMALISATIONS}, got {normalisation!r}')
    device = next(model.parameters()).device
    index = torch.as_tensor(keys, device=device)
    total = torch.zeros(len(keys), h, w, device=device)
    for scale in scales:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        img = torch.from_numpy(np.ascontiguousarray(resize_bicubic(image, size))).permute(
            2, 0, 1).float()
        batch = [img] + ([img.flip(-1)] if flip else [])
        data = model.data_preprocessor(dict(inputs=batch), False)
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size, img_label=label)] * len(batch)
        scores = model.cam_scores(data['inputs'], metas)[:, index, :size[0], :size[1]]
        if flip:
            scores = scores[:1] + scores[1:].flip(-1)
        total += F.interpolate(scores, size=(h, w), mode='bilinear', align_corners=False)[0]
    return normalise_cams(total, normalisation).cpu().numpy().astype(np.float32), classes


NORMALISATIONS = ('max', 'min_max')


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


def save_cams(path: str, cams: np.ndarray, classes: np.ndarray) -> None:
    """Atomically write ``{cams: float16 (K, H, W), classes: (K,)}`` as a compressed .npz."""
    write_npz(path, cams=cams.astype(np.float16), classes=classes.astype(np.int64))


def load_cams(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """(cams float32 (K, H, W), classes (K,)) from :func:`save_cams`."""
    with np.load(path) as data:
        return data['cams'].astype(np.float32), data['classes']


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


def labels_from_cams(cams: np.ndarray, classes: np.ndarray, bg_threshold: float,
                     shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Pseudo-label (H, W) uint8: argmax over [background, CAMs of the classes], the background
    being ``bg_threshold`` or the model's background map times it
    (:func:`scores_with_background`)."""
    if len(classes) == 0:
        return np.zeros(shape if shape is not None else cams.shape[1:], np.uint8)
    scores, keys = scores_with_background(cams, classes, bg_threshold)
    return keys.astype(np.uint8)[np.argmax(scores, axis=0)]


def write_manifest(out_dir: str, info: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, f'.manifest.json.tmp{os.getpid()}')
    with open(tmp, 'w') as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, osp.join(out_dir, 'manifest.json'))
