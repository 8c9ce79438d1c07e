import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
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


@TRANSFORMS.register_module()
class RandomResizeLong(BaseTransform):
    """Resize so that the long side is a uniformly drawn integer in ``[min_size, max_size]``,
    keeping the aspect ratio (PSA / SEAM's ``RandomResizeLong``): bicubic for the image as the
    official PIL code, nearest for ``gt_seg_map`` when loaded."""

    def __init__(self, min_size: int, max_size: int) -> None:
        if not 0 < min_size <= max_size:
            raise ValueError(f'need 0 < min_size <= max_size, got {min_size}, {max_size}')
        super().__init__()
        self.min_size, self.max_size = int(min_size), int(max_size)

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        target = int(np.random.randint(self.min_size, self.max_size + 1))
        scale = target / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))  # (w, h) for mmcv
        results['img'] = mmcv.imresize(img, size, interpolation='bicubic')
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = mmcv.imresize(results['gt_seg_map'], size,
                                                  interpolation='nearest')
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / w, size[1] / h)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(min_size={self.min_size}, max_size={self.max_size})'
