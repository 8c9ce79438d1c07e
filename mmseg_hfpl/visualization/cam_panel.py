"""Pictures people look at: CAM heat maps, pseudo-label colour maps, side-by-side panels."""
from typing import Optional, Sequence

import cv2
import numpy as np

from ..fileio import atomic_path


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


MIN_TILE = 128  # tiles are shown at least this tall, so that captions and legend fit
CAPTION = 18  # caption strip above the tiles, px
BAR = 16  # colour bar under the heat map, px
FONT = cv2.FONT_HERSHEY_SIMPLEX


def score_map(seg_logits: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1]: the largest foreground score (channels 1..) of a sample's
    ``seg_logits``. CAMs in [0, 1] (CAMSegmentor) are shown as they are; logits or log
    probabilities (a segmentor, the dense CRF of ``test_crf=True``) through a softmax."""
    scores = np.asarray(seg_logits, np.float32)
    if len(scores) < 2:
        return np.zeros(scores.shape[1:], np.float32)
    if scores.min() < 0 or scores.max() > 1:
        scores = np.exp(scores - scores.max(axis=0, keepdims=True))
        scores /= scores.sum(axis=0, keepdims=True)
    return scores[1:].max(axis=0)


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: float = 0.4) -> None:
    cv2.putText(canvas, text, (x, y), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def _colour_bar(width: int) -> np.ndarray:
    """JET colours from 0 (left) to 1 (right), labelled at both ends."""
    ramp = np.uint8(np.linspace(0, 255, width))[None].repeat(BAR - 6, axis=0)
    bar = np.full((BAR, width, 3), 255, np.uint8)
    bar[:BAR - 6] = cv2.applyColorMap(ramp, cv2.COLORMAP_JET)[..., ::-1]
    _text(bar, '0', 1, BAR - 1, 0.3)
    _text(bar, '1', width - 8, BAR - 1, 0.3)
    return bar


def _legend(present: Sequence[int], palette, classes, width: int) -> np.ndarray:
    """Colour swatches and class names of ``present`` (wrapped over lines of ``width``)."""
    entries = [(c, str(classes[c]) if classes is not None and c < len(classes) else str(c))
               for c in present]
    lines, x = [[]], 4
    for c, name in entries:
        w = 16 + cv2.getTextSize(name, FONT, 0.4, 1)[0][0] + 10
        if x + w > width and lines[-1]:
            lines.append([])
            x = 4
        lines[-1].append((c, name, x))
        x += w
    legend = np.full((18 * len(lines) + 4, width, 3), 255, np.uint8)
    for row, line in enumerate(lines):
        y = 4 + 18 * row
        for c, name, x in line:
            legend[y:y + 12, x:x + 12] = colorize_labels(np.full((12, 12), c), palette)
            _text(legend, name, x + 16, y + 11)
    return legend


def render_cam_panel(sample, palette=None, classes: Optional[Sequence[str]] = None) -> np.ndarray:
    """Captioned tiles input | ground truth | score heat map (with a 0..1 colour bar) |
    prediction of one predicted SegDataSample, over a legend of the classes in the ground
    truth and the prediction (names from ``classes``, colours from ``palette``)."""
    image = cv2.imread(sample.metainfo['img_path'], cv2.IMREAD_COLOR)[..., ::-1]
    pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy()
    cam = score_map(sample.seg_logits.data.cpu().numpy()) if 'seg_logits' in sample else \
        np.zeros(pred.shape, np.float32)
    if image.shape[:2] != pred.shape:
        image = cv2.resize(image, pred.shape[::-1], interpolation=cv2.INTER_LINEAR)
    labels = [pred]
    tiles = [('input', image)]
    if 'gt_sem_seg' in sample:
        gt = sample.gt_sem_seg.data.squeeze(0).cpu().numpy()
        labels.append(gt)
        tiles.append(('ground truth', colorize_labels(gt, palette)))
    tiles += [('max class score', cam_heatmap(image, cam)),
              ('prediction', colorize_labels(pred, palette))]
    scale = max(1, -(-MIN_TILE // image.shape[0]))  # integer upscale of small images
    h, w = image.shape[0] * scale, image.shape[1] * scale
    columns = []
    for caption, tile in tiles:
        column = np.full((CAPTION + h + BAR, w, 3), 255, np.uint8)
        _text(column, caption, 2, CAPTION - 5)
        column[CAPTION:CAPTION + h] = cv2.resize(tile, (w, h), interpolation=cv2.INTER_NEAREST)
        if caption == 'max class score':
            column[CAPTION + h:] = _colour_bar(w)
        columns.append(column)
    gap = np.full((columns[0].shape[0], 4, 3), 255, np.uint8)
    row = [columns[0]]
    for column in columns[1:]:
        row += [gap, column]
    row = np.concatenate(row, axis=1)
    present = sorted(set(np.unique(np.concatenate([v.ravel() for v in labels])).tolist()) -
                     {255})
    return np.concatenate([row, _legend(present, palette, classes, row.shape[1])], axis=0)


def write_png(path: str, rgb: np.ndarray) -> None:
    """Write an RGB array as PNG atomically (temp file + rename)."""
    with atomic_path(path, suffix='.png') as tmp:  # cv2 picks the format from the name
        if not cv2.imwrite(tmp, np.ascontiguousarray(rgb[..., ::-1])):
            raise OSError(f'could not write {path!r}')
