"""Pictures people look at: CAM heat maps, pseudo-label colour maps, side-by-side panels."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np


def colorize_labels(label: np.ndarray, palette: Optional[Sequence[Sequence[int]]]) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) RGB with the dataset palette (void 255 light grey)."""
    label = np.asarray(label)
    if palette is None:
        rng = np.random.default_rng(0)
        palette = rng.integers(0, 255, (256, 3))
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)[:256]
    lut[255] = (224, 224, 192)
    return lut[label.astype(np.uint8)]


def cam_heatmap(image: np.ndarray, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a [0, 1] CAM (H, W) as a JET heat map over an RGB image."""
    heat = cv2.applyColorMap(np.uint8(255 * np.clip(cam, 0, 1)), cv2.COLORMAP_JET)[..., ::-1]
    return np.uint8((1 - alpha) * image + alpha * heat)


def render_cam_panel(sample, palette=None) -> np.ndarray:
    """input | ground truth | CAM overlay | pseudo-label, for one predicted SegDataSample."""
    image = cv2.imread(sample.metainfo['img_path'], cv2.IMREAD_COLOR)[..., ::-1]
    pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy()
    cams = sample.seg_logits.data[1:].cpu().numpy()
    cam = cams.max(axis=0) if len(cams) else np.zeros(pred.shape, np.float32)
    if image.shape[:2] != pred.shape:
        image = cv2.resize(image, pred.shape[::-1], interpolation=cv2.INTER_LINEAR)
    tiles = [image]
    if 'gt_sem_seg' in sample:
        tiles.append(colorize_labels(sample.gt_sem_seg.data.squeeze(0).cpu().numpy(), palette))
    tiles += [cam_heatmap(image, cam), colorize_labels(pred, palette)]
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [gap, tile]
    return np.concatenate(row, axis=1)


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB array as PNG atomically (temp file + rename)."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}.png'
    if not cv2.imwrite(tmp, np.ascontiguousarray(rgb[..., ::-1])):
        raise OSError(f'could not write {path!r}')
    os.replace(tmp, path)
