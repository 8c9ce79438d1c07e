import json
import os.path as osp
from typing import List, Optional

import mmengine.fileio as fileio
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

def voc_colormap(num_classes: int) -> List[List[int]]:
    """The PASCAL VOC colour map (bit-interleaved class index) for any number of classes."""
    cmap = []
    for i in range(num_classes):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap.append([r, g, b])
    return cmap


VOC_METAINFO = dict(
    classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
             'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
             'sheep', 'sofa', 'train', 'tvmonitor'),
    palette=voc_colormap(21))


def load_image_labels(path: str, num_classes: int) -> dict:
    """Read image-level labels into ``{name: multi-hot float32 (num_classes - 1,)}``.

    ``.json``: ``{"labels": {name: [class indices]}}`` or ``{name: [class indices]}`` with the
    segmentation class indices of the present objects (1 .. num_classes - 1; MSRC copy format).
    ``.npy``: a pickled dict ``{name: multi-hot vector over the foreground classes}`` (the
    ``cls_labels.npy`` of PSA / SEAM / IRN for VOC and COCO).
    """
    num_fg = num_classes - 1
    labels = {}
    if path.endswith('.json'):
        with open(path) as f:
            raw = json.load(f)
        raw = raw.get('labels', raw)
        for name, indices in raw.items():
            vec = np.zeros(num_fg, dtype=np.float32)
            for idx in indices:
                if not isinstance(idx, int) or not 1 <= idx <= num_fg:
                    raise ValueError(f'{path}: image {name!r} has class index {idx!r}, expected '
                                     f'an integer in 1..{num_fg}')
                vec[idx - 1] = 1
            labels[name] = vec
    elif path.endswith('.npy'):
        raw = np.load(path, allow_pickle=True).item()
        for name, vec in raw.items():
            vec = np.asarray(vec, dtype=np.float32).reshape(-1)
            if vec.shape[0] != num_fg:
                raise ValueError(f'{path}: image {name!r} has a label vector of length '
                                 f'{vec.shape[0]}, expected {num_fg} (foreground classes)')
            if not np.isin(vec, (0, 1)).all():
                raise ValueError(f'{path}: image {name!r} has label values other than 0 and 1')
            labels[name] = vec
    else:
        raise ValueError(f'{path}: image-level labels must be a .json or .npy file')
    return labels


def labels_from_mask(path: str, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Multi-hot foreground labels of the classes present in a palette/index mask."""
    mask = np.asarray(Image.open(path))
    present = np.unique(mask)
    present = present[(present != 0) & (present != ignore_index)]
    if (present >= num_classes).any():
        raise ValueError(f'{path}: mask holds class indices {present[present >= num_classes]} '
                         f'beyond the {num_classes} classes of the dataset')
    vec = np.zeros(num_classes - 1, dtype=np.float32)
    vec[present - 1] = 1
    return vec


@DATASETS.register_module()
class WSSSVOCDataset(BaseSegDataset):
    """A VOC-layout dataset that also yields image-level multi-hot labels (``img_label``).

    The layout is PASCAL VOC's: ``JPEGImages/<name>.jpg``, ``SegmentationClass/<name>.png``
    (palette PNGs, 0 = background, 255 = void) and a split file of names. Class 0 is the
    background; ``img_label`` is a float32 vector over the foreground classes 1 .. C-1.

    Args:
        cls_label_file (str, optional): image-level labels (see :func:`load_image_labels`),
            relative to ``data_root``.
        labels_from_masks (bool): derive the image-level labels from the masks instead
            (for datasets without a label file). Default: False.
        img_suffix (str): Default: ``'.jpg'``. seg_map_suffix (str): Default: ``'.png'``.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``data_prefix=dict(img_path=..., seg_map_path=...)``, ``ann_file``, ``pipeline``,
            ``metainfo=dict(classes=..., palette=...)``...). Without ``seg_map_path`` the
            samples carry no mask (classification-only training). ``classes`` default to
            VOC's; other classes are used as they are (indices in the masks and label files
            are never remapped) and get the VOC colour map unless a palette is given.
    """
    METAINFO = VOC_METAINFO

    def __init__(self,
                 cls_label_file: Optional[str] = None,
                 labels_from_masks: bool = False,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 **kwargs) -> None:
        if (cls_label_file is None) == (not labels_from_masks):
            raise ValueError('WSSSVOCDataset needs exactly one source of image-level labels: '
                             'cls_label_file=... or labels_from_masks=True')
        self.cls_label_file = cls_label_file
        self.labels_from_masks = labels_from_masks
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if 'classes' in metainfo and 'palette' not in metainfo:
            metainfo['palette'] = voc_colormap(len(metainfo['classes']))
        super().__init__(metainfo=metainfo, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None) -> None:
        """No remapping: a dataset's masks and label files use its own class indices."""
        return None

    def _resolve(self, path: str) -> str:
        if self.data_root and not osp.isabs(path):
            return osp.join(self.data_root, path)
        return path

    def load_data_list(self) -> List[dict]:
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(f'data_root {self.data_root!r} does not exist')
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file (ann_file) {self.ann_file!r} does not exist')
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', '')
        has_masks = bool(seg_dir) and seg_dir != self.data_root
        if self.labels_from_masks and not has_masks:
            raise ValueError('labels_from_masks=True needs data_prefix.seg_map_path')
        num_classes = len(self._metainfo['classes'])
        labels = None
        if self.cls_label_file is not None:
            label_path = self._resolve(self.cls_label_file)
            if not osp.isfile(label_path):
                raise FileNotFoundError(f'cls_label_file {label_path!r} does not exist')
            labels = load_image_labels(label_path, num_classes)
        names = [line.strip() for line in fileio.get_text(self.ann_file).splitlines()]
        data_list = []
        for name in filter(None, names):
            img_path = osp.join(img_dir, name + self.img_suffix)
            if not osp.isfile(img_path):
                raise FileNotFoundError(f'image {img_path!r} listed in {self.ann_file!r} does '
                                        'not exist')
            info = dict(img_path=img_path, label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label, seg_fields=[])
            if has_masks:
                seg_path = osp.join(seg_dir, name + self.seg_map_suffix)
                if not osp.isfile(seg_path):
                    raise FileNotFoundError(f'mask {seg_path!r} of image {name!r} does not exist')
                info['seg_map_path'] = seg_path
            if labels is not None:
                if name not in labels:
                    raise KeyError(f'image {name!r} has no entry in {self.cls_label_file!r}')
                info['img_label'] = labels[name]
            else:
                info['img_label'] = labels_from_mask(info['seg_map_path'], num_classes,
                                                     self.ignore_index)
            data_list.append(info)
        if not data_list:
            raise ValueError(f'split file {self.ann_file!r} lists no images')
        return data_list

    def prepare_data(self, idx: int):
        try:
            return super().prepare_data(idx)
        except Exception as err:
            info = self.get_data_info(idx)
            raise RuntimeError(f'failed to load sample {idx} (image {info["img_path"]!r}, mask '
                               f'{info.get("seg_map_path")!r}): {err}') from err
