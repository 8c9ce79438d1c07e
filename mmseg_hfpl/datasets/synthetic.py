"""The embedded dataset: procedurally generated, seeded, multi-label WSSS scenes in VOC layout.

Every image holds one to three objects of five classes with distinct shapes and colour families
(jittered per object, shaded, with texture; a quarter of the objects take another class's
colour) on a cluttered background: smooth colour gradients, stripes, noise and half-transparent
distractor blobs, some in object colours. Objects touch and
overlap (later objects occlude earlier ones). Masks are palette PNGs with 0 = background.
"""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np
from PIL import Image

SYNTHETIC_CLASSES = ('background', 'disc', 'box', 'triangle', 'ring', 'cross')
SYNTHETIC_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
                     [128, 0, 128]]
# base RGB colour of every object class (jittered per object)
_CLASS_COLOURS = np.array([[215, 60, 50], [60, 170, 70], [235, 200, 40], [60, 90, 210],
                           [200, 80, 200]], dtype=np.float32)


def _shape_mask(cls: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Binary mask (size x size) of one object of class ``cls`` (1-based)."""
    mask = np.zeros((size, size), np.uint8)
    c = size / 2.0
    r = size * rng.uniform(0.38, 0.48)
    if cls == 1:  # disc, slightly elliptic
        axes = (int(r), int(r * rng.uniform(0.75, 1.0)))
        cv2.ellipse(mask, (int(c), int(c)), axes, rng.uniform(0, 180), 0, 360, 1, -1)
    elif cls == 2:  # rotated box
        box = cv2.boxPoints(((c, c), (2 * r * rng.uniform(0.7, 1.0), 2 * r * rng.uniform(0.5, 0.9)),
                             rng.uniform(0, 90)))
        cv2.fillPoly(mask, [np.int32(box)], 1)
    elif cls == 3:  # triangle
        angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2, 4]) * np.pi / 3
        angles += rng.uniform(-0.25, 0.25, 3)
        pts = np.stack([c + r * np.cos(angles), c + r * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.int32(pts)], 1)
    elif cls == 4:  # ring
        cv2.circle(mask, (int(c), int(c)), int(r), 1, -1)
        cv2.circle(mask, (int(c), int(c)), int(r * rng.uniform(0.45, 0.6)), 0, -1)
    else:  # cross
        t = r * rng.uniform(0.3, 0.45)
        rot = cv2.getRotationMatrix2D((c, c), rng.uniform(0, 90), 1.0)
        bar = np.zeros_like(mask)
        cv2.rectangle(bar, (int(c - r), int(c - t)), (int(c + r), int(c + t)), 1, -1)
        cv2.rectangle(bar, (int(c - t), int(c - r)), (int(c + t), int(c + r)), 1, -1)
        mask = cv2.warpAffine(bar, rot, (size, size), flags=cv2.INTER_NEAREST)
    return mask.astype(bool)


def _background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """Cluttered background: gradient + stripes + noise + distractor blobs (float RGB)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # muted colours (greys, browns, teals) that stay away from the saturated class colours
    c0 = rng.uniform(70, 160, 3)
    c1 = c0 + rng.uniform(-50, 50, 3)
    t = (xx * np.cos(rng.uniform(0, np.pi)) + yy * np.sin(rng.uniform(0, np.pi))) / max(
        height, width)
    img = c0 + (c1 - c0) * ((t - t.min()) / (np.ptp(t) + 1e-6))[..., None]
    period = rng.uniform(6, 18)
    stripes = np.sin(2 * np.pi * (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) / period)
    img += rng.uniform(5, 20) * stripes[..., None]
    for _ in range(rng.integers(3, 8)):  # distractor blobs, some in an object colour
        colour = rng.uniform(60, 170, 3) if rng.random() < 0.7 else \
            _CLASS_COLOURS[int(rng.integers(len(_CLASS_COLOURS)))]
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        axes = (int(rng.uniform(4, width / 5)), int(rng.uniform(4, height / 5)))
        blob = np.zeros((height, width), np.uint8)
        cv2.ellipse(blob, centre, axes, rng.uniform(0, 180), 0, 360, 1, -1)
        img[blob.astype(bool)] = 0.5 * img[blob.astype(bool)] + 0.5 * colour
    img += rng.normal(0, 8, img.shape)
    return img


def render_scene(rng: np.random.Generator, height: int = 128, width: int = 128,
                 max_objects: int = 3, num_classes: int = 5):
    """One scene: (RGB uint8 image, uint8 mask with class indices, sorted present classes)."""
    img = _background(height, width, rng)
    mask = np.zeros((height, width), np.uint8)
    count = int(rng.integers(1, max_objects + 1))
    classes = rng.choice(num_classes, size=count, replace=rng.random() < 0.25) + 1
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    centres = []
    for cls in classes:
        size = int(rng.uniform(0.3, 0.6) * min(height, width))
        # place near an earlier object now and then, so objects touch and overlap
        if centres and rng.random() < 0.6:
            ref = centres[int(rng.integers(len(centres)))]
            cy, cx = (np.array(ref) + rng.normal(0, size * 0.45, 2)).astype(int)
        else:
            cy, cx = int(rng.uniform(0, height)), int(rng.uniform(0, width))
        cy = int(np.clip(cy, size // 4, height - size // 4))
        cx = int(np.clip(cx, size // 4, width - size // 4))
        centres.append((cy, cx))
        shape = _shape_mask(int(cls), size, rng)
        top, left = cy - size // 2, cx - size // 2
        full = np.zeros((height, width), bool)
        ys, xs = slice(max(top, 0), min(top + size, height)), slice(max(left, 0),
                                                                     min(left + size, width))
        full[ys, xs] = shape[ys.start - top:ys.stop - top, xs.start - left:xs.stop - left]
        if not full.any():
            continue
        # mostly the class colour, but a quarter of the objects borrow another class's colour,
        # so that colour alone does not classify and the CAMs must rely on shape too
        hue = cls - 1 if rng.random() < 0.75 else int(rng.integers(num_classes))
        colour = np.clip(_CLASS_COLOURS[hue] + rng.normal(0, 25, 3), 0, 255)
        # directional shading and a fine texture, so the object colour is not flat
        shade = 1.0 + 0.25 * ((xx - cx) * rng.uniform(-1, 1) + (yy - cy) * rng.uniform(-1, 1)) / size
        texture = rng.normal(0, 10, (height, width, 1))
        obj = colour * shade[..., None] + texture
        img[full] = obj[full]
        mask[full] = cls
    img = cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (3, 3), 0.6)
    present = sorted(int(c) for c in np.unique(mask) if c != 0)
    return img, mask, present


def _palette_png(mask: np.ndarray, palette: Sequence[Sequence[int]]) -> Image.Image:
    png = Image.fromarray(mask, mode='P')
    flat = [v for rgb in palette for v in rgb]
    flat += [0] * (768 - len(flat))
    flat[255 * 3:255 * 3 + 3] = [224, 224, 192]  # VOC's void colour
    png.putpalette(flat)
    return png


def make_synthetic_voc(out_dir: str,
                       num_train: int = 240,
                       num_val: int = 60,
                       height: int = 128,
                       width: int = 128,
                       seed: int = 0,
                       overwrite: bool = False) -> Dict[str, int]:
    """Write the embedded dataset in VOC layout to ``out_dir`` and return the split sizes.

    Writes ``JPEGImages/``, ``SegmentationClass/`` (palette PNGs), ``ImageSets/Segmentation/
    {train,val,trainval}.txt`` and ``cls_labels.json`` (``{"classes": [...], "labels": {name:
    [class indices]}}``). Deterministic for a given seed; a directory that already holds the
    dataset made with the same parameters is left as it is. Refuses to write into any other
    non-empty directory unless ``overwrite``.
    """
    marker = osp.join(out_dir, 'cls_labels.json')
    params = dict(num_train=num_train, num_val=num_val, height=height, width=width, seed=seed)
    if osp.isfile(marker) and not overwrite:
        with open(marker) as f:
            existing = json.load(f).get('generator')
        if existing == params:  # already there: nothing to do
            return {'train': num_train, 'val': num_val, 'trainval': num_train + num_val}
        raise FileExistsError(f'{out_dir!r} holds a synthetic dataset made with {existing}, not '
                              f'{params}; pass overwrite=True (--overwrite) to replace it')
    if osp.isdir(out_dir) and os.listdir(out_dir) and not osp.isfile(marker) and not overwrite:
        raise FileExistsError(f'{out_dir!r} is not empty and holds no synthetic dataset; '
                              'choose another directory')
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = {}
    splits = {'train': [], 'val': []}
    for split, count in (('train', num_train), ('val', num_val)):
        for i in range(count):
            name = f'{split}_{i:04d}'
            img, mask, present = render_scene(rng, height, width)
            Image.fromarray(img).save(osp.join(out_dir, 'JPEGImages', name + '.jpg'), quality=95)
            _palette_png(mask, SYNTHETIC_PALETTE).save(
                osp.join(out_dir, 'SegmentationClass', name + '.png'))
            labels[name] = present
            splits[split].append(name)
    splits['trainval'] = splits['train'] + splits['val']
    for split, names in splits.items():
        with open(osp.join(out_dir, 'ImageSets', 'Segmentation', split + '.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    with open(marker, 'w') as f:
        json.dump({'classes': list(SYNTHETIC_CLASSES), 'generator': params, 'labels': labels}, f,
                  indent=0)
    return {split: len(names) for split, names in splits.items()}
