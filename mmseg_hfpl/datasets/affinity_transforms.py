"""AffinityNet's training sample of PSA / SEAM / hfpl (``voc12/data.py: VOC12AffDataset``): the
image and the two CRF marginal stacks are cropped and flipped together, the marginals are
average-pooled onto the feature grid, and the labels combined there."""
from typing import Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def psa_random_crop_boxes(shape: Tuple[int, int], crop: Tuple[int, int],
                          rng: np.random.RandomState):
    """PSA's ``imutils.RandomCrop`` placement: a random window of the image when it is larger
    than the crop, a random place in a zero container when smaller (per axis). Returns
    ``(image slice, container slice)`` as ``(top, left, height, width)`` boxes."""
    boxes = []
    for size, cs in zip(shape, crop):
        space = size - cs
        if space > 0:
            img_start, cont_start = rng.randint(space + 1), 0
        else:
            img_start, cont_start = 0, rng.randint(-space + 1)
        boxes.append((img_start, cont_start, min(cs, size)))
    (iy, cy, ch), (ix, cx, cw) = boxes
    return (iy, ix, ch, cw), (cy, cx, ch, cw)


def pooled_affinity_labels(low: np.ndarray, high: np.ndarray, pool: int = 8) -> np.ndarray:
    """(h / pool, w / pool) uint8 AffinityNet labels from two (H, W, N) CRF marginal stacks:
    ``pool`` x ``pool`` block means (zero-padded at the end, as skimage ``block_reduce``), the
    argmax of each stack, objects of the low-alpha one (255 where it says background),
    background where the high-alpha one says background, and 255 where no map has a score
    (outside the image in the crop container)."""
    stack = np.concatenate([low, high], axis=-1).astype(np.float32)
    h, w, c = stack.shape
    hp, wp = -(-h // pool) * pool, -(-w // pool) * pool
    if (hp, wp) != (h, w):
        stack = np.pad(stack, ((0, hp - h), (0, wp - w), (0, 0)))
    pooled = stack.reshape(hp // pool, pool, wp // pool, pool, c).mean(axis=(1, 3))
    no_score = pooled.max(axis=-1) < 1e-5
    la = pooled[..., :low.shape[-1]].argmax(axis=-1)
    ha = pooled[..., low.shape[-1]:].argmax(axis=-1)
    label = la.astype(np.uint8)
    label[la == 0] = 255
    label[ha == 0] = 0
    label[no_score] = 255
    return label


@TRANSFORMS.register_module()
class AffinityLabelsFromCRF(BaseTransform):
    """Crop, flip and label one AffinityNet sample as PSA's ``VOC12AffDataset``.

    Reads ``results['seg_map_path']``: an ``aff_crf/<name>.npz`` of
    ``tools/make_pseudo_labels.py --affinity-labels`` (float16 ``low`` and ``high`` CRF
    marginals, (N, H, W), background first). The image and both stacks are cropped together
    (PSA ``RandomCrop``: a zero container when the image is smaller), flipped together with
    probability ``flip_prob``, and the stacks are turned into labels on the feature grid by
    :func:`pooled_affinity_labels`: ``gt_seg_map`` is (crop / pool) and AffinityNet uses it as it
    is. Put colour jitter before this transform, as PSA does.

    Required keys: ``img``, ``seg_map_path``. Modified: ``img``, ``img_shape``. Added:
    ``gt_seg_map``, ``seg_fields``, ``flip``, ``flip_direction``.

    Args:
        crop_size (int or tuple): (h, w) of the crop. PSA / SEAM / hfpl: 448.
        pool (int): the feature stride. Default: 8.
        flip_prob (float): horizontal flip probability. Default: 0.5.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]] = 448, pool: int = 8,
                 flip_prob: float = 0.5) -> None:
        crop = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        if crop[0] % pool or crop[1] % pool:
            raise ValueError(f'crop_size {crop} must be a multiple of pool ({pool})')
        self.crop_size = crop
        self.pool = pool
        self.flip_prob = flip_prob

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        try:
            with np.load(path) as data:
                low, high = (data[k].astype(np.float32).transpose(1, 2, 0)
                             for k in ('low', 'high'))
        except (OSError, KeyError, ValueError) as err:
            raise type(err)(f'{path}: not an AffinityNet CRF file (aff_crf/*.npz with low and '
                            f'high, written by make_pseudo_labels.py --affinity-labels): '
                            f'{err}') from err
        img = results['img']
        if low.shape[:2] != img.shape[:2] or high.shape[:2] != img.shape[:2]:
            raise ValueError(f'{path}: CRF maps of size {low.shape[:2]} / {high.shape[:2]} do '
                             f'not match the image {results.get("img_path")} {img.shape[:2]}')
        (iy, ix, ch, cw), (cy, cx, _, _) = psa_random_crop_boxes(img.shape[:2], self.crop_size,
                                                                 np.random)

        def crop(x):
            out = np.zeros(self.crop_size + x.shape[2:], x.dtype)
            out[cy:cy + ch, cx:cx + cw] = x[iy:iy + ch, ix:ix + cw]
            return out

        img, low, high = crop(img), crop(low), crop(high)
        flip = bool(np.random.rand() < self.flip_prob)
        if flip:
            img, low, high = (np.ascontiguousarray(x[:, ::-1]) for x in (img, low, high))
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['flip'] = flip
        results['flip_direction'] = 'horizontal' if flip else None
        results['gt_seg_map'] = pooled_affinity_labels(low, high, self.pool)
        results['seg_fields'] = list(set(results.get('seg_fields', [])) | {'gt_seg_map'})
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, pool={self.pool}, '
                f'flip_prob={self.flip_prob})')
