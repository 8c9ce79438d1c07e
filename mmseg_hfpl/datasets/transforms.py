from typing import Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import mmcv
from mmcv.transforms import BaseTransform
from PIL import Image
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """:class:`PackSegInputs` that also packs the image-level labels.

    ``results['img_label']`` (multi-hot over the foreground classes, from
    :class:`WSSSVOCDataset`) becomes the data field ``gt_img_label`` (float tensor) of the
    :class:`SegDataSample`, so it moves to the device with the batch.
    """

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'img_label' not in results:
            raise KeyError(f'no image-level label (img_label) for {results.get("img_path")!r}: '
                           'use a dataset that provides them, e.g. WSSSVOCDataset')
        label = np.asarray(results['img_label'], dtype=np.float32)
        packed['data_samples'].gt_img_label = torch.from_numpy(label.copy())
        return packed


def pil_resize(img: np.ndarray, size: Tuple[int, int], interpolation: str) -> np.ndarray:
    """Resize ``img`` (uint8, H x W or H x W x 3) to ``size`` = (w, h) with PIL, as the official
    ``imutils`` of PSA / SEAM / hfpl / IRN: ``'bicubic'`` (PIL ``BICUBIC``, a = -0.5, antialiased
    when shrinking) for images, ``'nearest'`` (PIL ``NEAREST``) for label maps."""
    if img.dtype != np.uint8:
        raise TypeError(f'pil_resize takes uint8 images (as the official PIL code), got {img.dtype}')
    modes = {'bicubic': Image.BICUBIC, 'nearest': Image.NEAREST}
    if interpolation not in modes:
        raise ValueError(f'interpolation must be one of {sorted(modes)}, got {interpolation!r}')
    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    return np.asarray(Image.fromarray(img).resize(tuple(size), modes[interpolation]))


def _resize_results(results: dict, size: Tuple[int, int]) -> dict:
    """PIL-resize ``img`` (bicubic) and ``gt_seg_map`` when loaded (nearest) to (w, h)."""
    h, w = results['img'].shape[:2]
    results['img'] = pil_resize(results['img'], size, 'bicubic')
    if results.get('gt_seg_map') is not None:
        results['gt_seg_map'] = pil_resize(results['gt_seg_map'], size, 'nearest')
    results['img_shape'] = results['img'].shape[:2]
    results['scale_factor'] = (size[0] / w, size[1] / h)
    return results


@TRANSFORMS.register_module()
class RandomResizeLong(BaseTransform):
    """Resize so that the long side is a uniformly drawn integer in ``[min_size, max_size]``,
    keeping the aspect ratio (PSA / SEAM / hfpl ``tool/imutils.py`` ``RandomResizeLong``): PIL
    bicubic for the image as the official code (antialiased when shrinking), PIL nearest for
    ``gt_seg_map`` when loaded."""

    def __init__(self, min_size: int, max_size: int) -> None:
        if not 0 < min_size <= max_size:
            raise ValueError(f'need 0 < min_size <= max_size, got {min_size}, {max_size}')
        super().__init__()
        self.min_size, self.max_size = int(min_size), int(max_size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        target = int(np.random.randint(self.min_size, self.max_size + 1))
        # official (w, h): the long side = target, the short one rounded (Python: half to even)
        size = ((max(1, round(w * target / h)), target) if w < h else
                (target, max(1, round(h * target / w))))
        return _resize_results(results, size)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size}, max_size={self.max_size})'


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image by a factor drawn uniformly from ``ratio_range`` (IRN / SIPE
    ``misc/imutils.py`` ``random_scale`` + ``pil_rescale``: size ``np.round(side * ratio)``,
    PIL bicubic for the image, PIL nearest for ``gt_seg_map``). Unlike mmcv's ``RandomResize``
    the factor applies to the original image, whatever its size (IRN: 0.5-1.5, so a 500-px VOC
    image gets a long side of 250-750)."""

    def __init__(self, ratio_range: Tuple[float, float]) -> None:
        lo, hi = ratio_range
        if not 0 < lo <= hi:
            raise ValueError(f'need 0 < ratio_range[0] <= ratio_range[1], got {ratio_range}')
        super().__init__()
        self.ratio_range = (float(lo), float(hi))

    def transform(self, results: dict) -> dict:
        lo, hi = self.ratio_range
        ratio = lo + np.random.random() * (hi - lo)
        h, w = results['img'].shape[:2]
        size = (max(1, int(np.round(w * ratio))), max(1, int(np.round(h * ratio))))
        return _resize_results(results, size)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ratio_range={self.ratio_range})'


@TRANSFORMS.register_module()
class RandomContainerCrop(BaseTransform):
    """The random crop of IRN / SEAM's final network (IRN ``misc/imutils.py``
    ``get_random_crop_box``; hfpl ``lib/datasets/transform.py:12-74`` ``RandomCrop``): along each
    axis, a side longer than the crop is cropped at a uniform offset, a shorter one is placed at
    a uniform offset inside a ``crop_size`` container (every placement equally likely, not only
    top-left as mmseg's crop + padding). The image is returned as float32 with ``pad_val``
    around it, the label map with ``seg_pad_val``.

    The official crop runs on the normalised image and pads with 0, i.e. with the mean colour:
    give ``pad_val`` = the data preprocessor's mean in the image's channel order (BGR as loaded)
    for the same result after normalisation.

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the output.
        pad_val (float | sequence of float): image padding, per channel. Default: 0.
        seg_pad_val (int): label padding. Default: 255.
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]],
                 pad_val: Union[float, Sequence[float]] = 0.,
                 seg_pad_val: int = 255) -> None:
        super().__init__()
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if len(crop_size) != 2 or min(crop_size) <= 0:
            raise ValueError(f'crop_size must be a positive int or (h, w), got {crop_size}')
        self.crop_size = tuple(int(c) for c in crop_size)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    @staticmethod
    def _axis(size: int, crop: int) -> Tuple[int, int]:
        """(container offset, image offset) along one axis, as the official ``randrange``."""
        space = size - crop
        if space > 0:
            return 0, int(np.random.randint(space + 1))
        return int(np.random.randint(-space + 1)), 0

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        crop_h, crop_w = self.crop_size
        ch, cw = min(crop_h, h), min(crop_w, w)
        # the official draws the horizontal offsets first
        cont_left, img_left = self._axis(w, crop_w)
        cont_top, img_top = self._axis(h, crop_h)
        out = np.empty((crop_h, crop_w) + img.shape[2:], np.float32)
        out[...] = np.asarray(self.pad_val, np.float32)
        out[cont_top:cont_top + ch, cont_left:cont_left + cw] = \
            img[img_top:img_top + ch, img_left:img_left + cw]
        results['img'] = out
        seg = results.get('gt_seg_map')
        if seg is not None:
            seg_out = np.full((crop_h, crop_w), self.seg_pad_val, dtype=seg.dtype)
            seg_out[cont_top:cont_top + ch, cont_left:cont_left + cw] = \
                seg[img_top:img_top + ch, img_left:img_left + cw]
            results['gt_seg_map'] = seg_out
        results['img_shape'] = out.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')


@TRANSFORMS.register_module()
class RandomHSV(BaseTransform):
    """Shift hue, saturation and value by integers drawn uniformly from ``[-r, r]`` (hfpl
    ``lib/datasets/transform.py:76-102`` ``RandomHSV``, the final network's colour jitter,
    ``DATA_RANDOM_H/S/V`` = 10): OpenCV's 8-bit HSV, hue modulo 180, saturation and value
    clipped to [0, 255]. The image is uint8 in BGR (as loaded; the official converts RGB, the
    same HSV values).

    Args:
        h_range, s_range, v_range (int): the half-widths of the shifts. Default: 10.
    """

    def __init__(self, h_range: int = 10, s_range: int = 10, v_range: int = 10) -> None:
        super().__init__()
        self.ranges = (int(h_range), int(s_range), int(v_range))

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise TypeError(f'RandomHSV takes a uint8 H x W x 3 image, got {img.dtype} '
                            f'{img.shape} ({results.get("img_path")})')
        dh, ds, dv = (int(np.random.randint(-r, r + 1)) for r in self.ranges)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int32)
        hsv[..., 0] = (hsv[..., 0] + dh) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + ds, 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + dv, 0, 255)
        results['img'] = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self) -> str:
        h, s, v = self.ranges
        return f'{self.__class__.__name__}(h_range={h}, s_range={s}, v_range={v})'


def adjust_hue(img: np.ndarray, hue_factor: float, backend: str = 'pillow') -> np.ndarray:
    """``mmcv.adjust_hue`` (torchvision's, which SEAM's ``train_SEAM.py`` ColorJitter calls) with
    the 8-bit hue shift ``int(hue_factor * 255)`` taken modulo 256, as NumPy 1 wrapped it.

    mmcv 2.1 adds ``np.uint8(hue_factor * 255)``: NumPy 2 refuses a negative value
    ("OverflowError: Python integer -8 out of bounds for uint8"), so every negative hue draw
    stopped training there (seen on the first GPU run, NumPy 2.5). Same result as mmcv under
    NumPy 1, for both backends (BGR uint8 image).
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    shift = int(hue_factor * 255)
    if backend == 'pillow':
        hsv = np.array(Image.fromarray(img[..., ::-1]).convert('HSV'))
    elif backend == 'cv2':
        hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    else:
        raise ValueError(f'backend {backend!r} is neither pillow nor cv2')
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + shift) % 256
    if backend == 'pillow':
        rgb = np.array(Image.fromarray(hsv, 'HSV').convert('RGB'), dtype=img.dtype)
        return rgb[..., ::-1]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """``mmpretrain.ColorJitter`` (torchvision's ColorJitter: brightness, contrast, saturation
    and hue in a random order) with its hue step through :func:`adjust_hue`, which works under
    NumPy 2. The random draws and the other three steps are mmpretrain's.

    mmpretrain is imported when a ``ColorJitter`` is built, not with this module: it imports
    torchvision (~0.7 s per process here), which the tools that build no training pipeline
    (pseudo-labels, random walk, tests) do not need. The arguments are mmpretrain's.
    """

    def __init__(self, **kwargs) -> None:
        from mmpretrain.datasets.transforms import ColorJitter as PretrainColorJitter
        self.jitter = PretrainColorJitter(**kwargs)

    def transform(self, results: dict) -> dict:
        img, backend = results['img'], self.jitter.backend
        order, brightness, contrast, saturation, hue = self.jitter._rand_params()
        for index in order:
            if index == 0 and brightness is not None:
                img = mmcv.adjust_brightness(img, brightness, backend=backend)
            elif index == 1 and contrast is not None:
                img = mmcv.adjust_contrast(img, contrast, backend=backend)
            elif index == 2 and saturation is not None:
                img = mmcv.adjust_color(img, alpha=saturation, backend=backend)
            elif index == 3 and hue is not None:
                img = adjust_hue(img, hue, backend=backend)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return repr(self.jitter)
