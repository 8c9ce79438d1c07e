"""Refine saved CAMs by a random walk on a learned affinity (AffinityNet / IRN style)."""
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log

from ..datasets.checks import read_image
from .cam_inference import load_cams, split_background
from .random_walk import random_walk
from .writer import write_label_png

#: how :func:`walk_seeds` brings the maps onto the walk's grid
SEED_RESIZES = ('avg_pool', 'bilinear')


def walk_seeds(maps: torch.Tensor, grid: Tuple[int, int], stride: int,
               seed_resize: str = 'avg_pool', cam_power: float = 1.0) -> torch.Tensor:
    """The random-walk seeds (K, fh, fw) of maps (K, h, w) on the ``grid`` (fh, fw) of an input
    padded to ``grid * stride``; negative values are clipped to 0 first.

    - ``'avg_pool'`` (PSA / SEAM / hfpl ``infer_aff_voc.py``): ``maps ** cam_power`` zero-padded
      (bottom, right) to ``grid * stride`` and average-pooled by ``stride``.
    - ``'bilinear'`` (SIPE ``make_seg_labels.py:46-47``): the maps resized bilinearly
      (``align_corners=False``) to the grid, then raised to ``cam_power``.

    Raises:
        ValueError: an unknown ``seed_resize``.
    """
    if seed_resize not in SEED_RESIZES:
        raise ValueError(f'seed_resize must be one of {SEED_RESIZES}, got {seed_resize!r}')
    maps = maps.clamp(min=0.0)
    if seed_resize == 'bilinear':
        seeds = F.interpolate(maps[None], size=grid, mode='bilinear', align_corners=False)[0]
        return seeds.pow(cam_power)
    h, w = maps.shape[1:]
    padded = F.pad(maps.pow(cam_power), (0, grid[1] * stride - w, 0, grid[0] * stride - h))
    return F.avg_pool2d(padded[None], stride)[0]


@torch.no_grad()
def random_walk_labels(model,
                       image_bgr: np.ndarray,
                       cams: np.ndarray,
                       classes: np.ndarray,
                       beta: float = 8.0,
                       logt: int = 6,
                       bg_alpha: float = 6.0,
                       bg_threshold: Optional[float] = None,
                       cam_power: float = 1.0,
                       bg_seed: Optional[float] = None,
                       seed_resize: str = 'avg_pool') -> np.ndarray:
    """Pseudo-label of one image from its CAMs propagated with the model's pair affinities.

    The geometry of PSA / SEAM / hfpl ``infer_aff_voc.py``: the normalised image and the seed
    maps are zero-padded (bottom, right) to a multiple of ``model.output_stride`` (8 for
    AffinityNet), the seeds average-pooled by that stride onto the affinity grid (or resized
    bilinearly to it, ``seed_resize='bilinear'``: see :func:`walk_seeds`), walked with
    :func:`random_walk` ``(beta, logt)`` (damped by ``model.seed_weight`` when the model has one,
    as IRN damps seeds on boundaries), up-sampled bilinearly to the padded size, cropped to the
    image and arg-maxed.

    - ``bg_threshold=None`` (AffinityNet / PSA / SEAM ``infer_aff``): a background seed
      ``(1 - max_c r_c)^bg_alpha`` is walked with the classes.
    - ``bg_seed=s`` (MCTformer's ``psa/infer_aff.py``, ``--bg_thr 0.39``): the constant ``s`` is
      the background seed, walked with the classes (zero in the padding, like them); the
      transition matrix is column-stochastic, so no normalisation follows.
    - ``bg_threshold=t`` (IRN ``make_sem_seg_labels``): only the classes are walked, normalised
      by their global maximum, and the background is the constant ``t``.
    - CAMs with the model's own background map (class 0, SIPE ``make_seg_labels``): the
      background map is walked with the classes; ``bg_threshold`` (default 1) scales the walked
      background after the global max-normalisation, ``bg_alpha`` is unused.

    ``cam_power`` raises the CAMs to a power before the walk (SIPE: 1.5; with
    ``seed_resize='bilinear'`` after the resize, as SIPE's ``make_seg_labels.py:46-47``).
    """
    h, w = image_bgr.shape[:2]
    bg_map, fg, fg_classes = split_background(cams, classes)
    if len(fg_classes) == 0:
        return np.zeros((h, w), np.uint8)
    stride = getattr(model, 'output_stride', 8)
    ph, pw = -(-h // stride) * stride, -(-w // stride) * stride
    device = next(model.parameters()).device
    img = torch.from_numpy(np.ascontiguousarray(image_bgr)).permute(2, 0, 1)
    data = model.data_preprocessor(dict(inputs=[img]), False)
    inputs = F.pad(data['inputs'][..., :h, :w], (0, pw - w, 0, ph - h))
    pairs, aff, (fh, fw) = model.pair_affinities(inputs)
    if (fh, fw) != (ph // stride, pw // stride):
        raise ValueError(f'the affinity grid {fh}x{fw} of a {ph}x{pw} input is not the input / '
                         f'output_stride ({stride}) of {type(model).__name__}')
    if bg_seed is not None:
        if bg_map is not None or bg_threshold is not None:
            raise ValueError('bg_seed walks a constant background: it excludes bg_threshold and '
                             "the model's own background map")
        maps = np.concatenate([np.full((1, h, w), bg_seed, np.float32), cams])
    elif bg_map is not None or bg_threshold is not None:
        maps = cams
    else:
        maps = np.concatenate([np.power(1.0 - cams.max(axis=0, keepdims=True), bg_alpha), cams])
    seeds = walk_seeds(torch.from_numpy(maps).float().to(device), (fh, fw), stride, seed_resize,
                       cam_power)
    if hasattr(model, 'seed_weight'):
        seeds = seeds * model.seed_weight(inputs)[0]
    walked = random_walk(pairs, aff[0].float(), fh * fw, seeds.flatten(1), beta, logt)
    walked = F.interpolate(walked.view(1, -1, fh, fw), size=(ph, pw), mode='bilinear',
                           align_corners=False)[0, :, :h, :w]
    if bg_map is not None:
        walked = walked / walked.max().clamp(min=1e-12)
        walked[0] *= 1.0 if bg_threshold is None else bg_threshold
    elif bg_threshold is not None:
        walked = walked / walked.max().clamp(min=1e-12)
        walked = torch.cat([torch.full_like(walked[:1], bg_threshold), walked])
    keys = np.concatenate([[0], fg_classes]).astype(np.uint8)
    return keys[walked.argmax(dim=0).cpu().numpy()]


_WORKER = {}  # the model of refine_items, inherited by forked worker processes


def _init_worker() -> None:
    torch.set_num_threads(1)  # one thread per process: the processes share the cores


def _refine_one(task) -> None:
    item, path, cam_path, palette, walk_cfg = task
    if not osp.isfile(cam_path):
        raise FileNotFoundError(f'no CAMs for {item["img_path"]!r} at {cam_path!r}')
    cams, classes = load_cams(cam_path)
    image = read_image(item['img_path'])
    write_label_png(path, random_walk_labels(_WORKER['model'], image, cams, classes, **walk_cfg),
                    palette)


def refine_items(model, items: List[dict], cam_dir: str, out_dir: str, palette=None,
                 overwrite: bool = False, workers: int = 0, **walk_cfg) -> List[str]:
    """Write ``out_dir/<name>.png`` for every item (skipping finished ones, counted in the log),
    in ``workers`` forked processes of one thread each (0: in this process), with a progress
    bar; returns the paths."""
    from mmengine.utils import track_parallel_progress, track_progress
    from .generator import image_name
    paths = [osp.join(out_dir, image_name(it) + '.png') for it in items]
    tasks = [(it, path, osp.join(cam_dir, image_name(it) + '.npz'), palette, walk_cfg)
             for it, path in zip(items, paths) if overwrite or not osp.isfile(path)]
    print_log(f'random walk: {len(paths) - len(tasks)} of {len(paths)} images already done with '
              f'the same settings; writing to {out_dir}', logger='current')
    model.eval()
    _WORKER['model'] = model
    try:
        if workers > 0 and tasks:
            track_parallel_progress(_refine_one, tasks, workers, initializer=_init_worker)
        elif tasks:
            track_progress(_refine_one, tasks)
    finally:
        _WORKER.clear()
    return paths
