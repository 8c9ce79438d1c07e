"""Refine saved CAMs by a random walk on a learned affinity (AffinityNet / IRN style)."""
import os.path as osp
from typing import List, Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .cam_inference import load_cams, split_background
from .random_walk import random_walk
from .writer import write_label_png


@torch.no_grad()
def random_walk_labels(model,
                       image_bgr: np.ndarray,
                       cams: np.ndarray,
                       classes: np.ndarray,
                       beta: float = 8.0,
                       logt: int = 6,
                       bg_alpha: float = 6.0,
                       bg_threshold: Optional[float] = None,
                       cam_power: float = 1.0) -> np.ndarray:
    """Pseudo-label of one image from its CAMs propagated with ``model.affinity``.

    The CAMs are average-pooled to the affinity grid and walked with
    ``random_walk(A, seeds, beta, logt)`` (damped by ``model.seed_weight`` when the model has one,
    as IRN damps seeds on boundaries), up-sampled bilinearly and arg-maxed.

    - ``bg_threshold=None`` (AffinityNet / PSA / SEAM ``infer_aff``): a background seed
      ``(1 - max_c r_c)^bg_alpha`` is walked with the classes.
    - ``bg_threshold=t`` (IRN ``make_sem_seg_labels``): only the classes are walked, normalised
      by their global maximum, and the background is the constant ``t``.
    - CAMs with the model's own background map (class 0, SIPE ``make_seg_labels``): the
      background map is walked with the classes; ``bg_threshold`` (default 1) scales the walked
      background after the global max-normalisation, ``bg_alpha`` is unused.

    ``cam_power`` raises the CAMs to a power before the walk (SIPE: 1.5).
    """
    h, w = image_bgr.shape[:2]
    bg_map, fg, fg_classes = split_background(cams, classes)
    if len(fg_classes) == 0:
        return np.zeros((h, w), np.uint8)
    device = next(model.parameters()).device
    img = torch.from_numpy(np.ascontiguousarray(image_bgr)).permute(2, 0, 1)
    data = model.data_preprocessor(dict(inputs=[img]), False)
    inputs = data['inputs'][..., :h, :w]
    (aff, ) = model.affinity(inputs)
    feat = model.extract_feat(inputs)
    fh, fw = feat.shape[2:]
    if aff.shape[0] != fh * fw:
        raise ValueError(f'affinity of size {tuple(aff.shape)} does not match the feature grid '
                         f'{fh}x{fw}')
    if bg_map is not None or bg_threshold is not None:
        maps = cams
    else:
        maps = np.concatenate([np.power(1.0 - cams.max(axis=0, keepdims=True), bg_alpha), cams])
    maps = np.power(np.clip(maps, 0.0, None), cam_power)
    seeds = F.adaptive_avg_pool2d(torch.from_numpy(maps).float().to(device)[None], (fh, fw))[0]
    if hasattr(model, 'seed_weight'):
        seeds = seeds * model.seed_weight(inputs)[0]
    walked = random_walk(aff.float(), seeds.flatten(1), beta, logt).view(1, -1, fh, fw)
    walked = F.interpolate(walked, size=(h, w), mode='bilinear', align_corners=False)[0]
    if bg_map is not None:
        walked = walked / walked.max().clamp(min=1e-12)
        walked[0] *= 1.0 if bg_threshold is None else bg_threshold
    elif bg_threshold is not None:
        walked = walked / walked.max().clamp(min=1e-12)
        walked = torch.cat([torch.full_like(walked[:1], bg_threshold), walked])
    keys = np.concatenate([[0], fg_classes]).astype(np.uint8)
    return keys[walked.argmax(dim=0).cpu().numpy()]


def refine_items(model, items: List[dict], cam_dir: str, out_dir: str, palette=None,
                 overwrite: bool = False, **walk_cfg) -> List[str]:
    """Write ``out_dir/<name>.png`` for every item (skipping finished ones); returns the paths."""
    from mmengine.utils import track_progress
    from .generator import image_name
    paths = [osp.join(out_dir, image_name(it) + '.png') for it in items]

    def one(task):
        item, path = task
        if not overwrite and osp.isfile(path):
            return
        cam_path = osp.join(cam_dir, image_name(item) + '.npz')
        if not osp.isfile(cam_path):
            raise FileNotFoundError(f'no CAMs for {item["img_path"]!r} at {cam_path!r}')
        cams, classes = load_cams(cam_path)
        image = cv2.imread(item['img_path'], cv2.IMREAD_COLOR)
        write_label_png(path, random_walk_labels(model, image, cams, classes, **walk_cfg),
                        palette)

    model.eval()
    track_progress(one, list(zip(items, paths)))
    return paths
