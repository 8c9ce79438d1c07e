import json
import os.path as osp
import warnings
from typing import List, Optional

import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadAnnotations
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checks import (DataFileError, check_seg_map, corrupt_jpeg_reason, image_size,
                     no_positive_labels, read_mask, read_split, truncated_image_reason)


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


def _json_labels(path: str, num_fg: int) -> dict:
    try:
        with open(path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as err:
        raise DataFileError(f'{path}: not valid JSON ({err.msg} at line {err.lineno} column '
                            f'{err.colno})') from err
    except UnicodeDecodeError as err:
        raise DataFileError(f'{path}: not a text (JSON) file ({err})') from err
    if isinstance(raw, dict) and 'labels' in raw:
        raw = raw['labels']
    if not isinstance(raw, dict):
        raise DataFileError(f'{path}: holds a JSON {type(raw).__name__}, expected an object '
                            '{"labels": {name: [class indices]}} or {name: [class indices]}')
    labels = {}
    for name, indices in raw.items():
        if not isinstance(indices, list):
            raise DataFileError(f'{path}: image {name!r} has {indices!r} '
                                f'({type(indices).__name__}), expected a list of class indices '
                                '(e.g. [3] or [])')
        vec = np.zeros(num_fg, dtype=np.float32)
        for idx in indices:
            if isinstance(idx, bool) or not isinstance(idx, int) or not 1 <= idx <= num_fg:
                raise DataFileError(f'{path}: image {name!r} has class index {idx!r}, expected '
                                    f'an integer in 1..{num_fg}')
            vec[idx - 1] = 1
        labels[name] = vec
    return labels


def _npy_labels(path: str, num_fg: int) -> dict:
    try:
        arr = np.load(path, allow_pickle=True)
    except Exception as err:
        raise DataFileError(f'{path}: cannot be read as a .npy file ({type(err).__name__}: '
                            f'{err}); truncated or not saved with np.save?') from err
    raw = arr.item() if isinstance(arr, np.ndarray) and arr.shape == () else arr
    if not isinstance(raw, dict):
        what = (f'a plain {arr.dtype} array of shape {arr.shape}'
                if isinstance(arr, np.ndarray) and arr.shape != () else
                f'a {type(raw).__name__}')
        raise DataFileError(f'{path}: holds {what}, expected a pickled dict '
                            '{name: multi-hot vector over the foreground classes} (as saved '
                            'by np.save(path, labels_dict))')
    labels = {}
    for name, vec in raw.items():
        try:
            vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as err:
            raise DataFileError(f'{path}: image {name!r} has label {vec!r}, expected a '
                                f'multi-hot vector of {num_fg} values ({err})') from err
        if vec.shape[0] != num_fg:
            raise DataFileError(f'{path}: image {name!r} has a label vector of length '
                                f'{vec.shape[0]}, expected {num_fg} (foreground classes)')
        if not np.isin(vec, (0, 1)).all():
            raise DataFileError(f'{path}: image {name!r} has label values other than 0 and 1')
        labels[name] = vec
    return labels


def load_image_labels(path: str, num_classes: int) -> dict:
    """Read image-level labels into ``{name: multi-hot float32 (num_classes - 1,)}``.

    ``.json``: ``{"labels": {name: [class indices]}}`` or ``{name: [class indices]}`` with the
    segmentation class indices of the present objects (1 .. num_classes - 1; MSRC copy format).
    ``.npy``: a pickled dict ``{name: multi-hot vector over the foreground classes}`` (the
    ``cls_labels.npy`` of PSA / SEAM / IRN for VOC and COCO).

    Raises:
        DataFileError: a file that is not valid JSON / ``.npy``, of another structure, or an
            entry (named in the message) that is not a valid label.
    """
    num_fg = num_classes - 1
    if path.endswith('.json'):
        return _json_labels(path, num_fg)
    if path.endswith('.npy'):
        return _npy_labels(path, num_fg)
    raise ValueError(f'{path}: image-level labels must be a .json or .npy file')


def labels_from_mask(path: str, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """Multi-hot foreground labels of the classes present in a palette/index mask."""
    present = np.unique(read_mask(path, num_classes, ignore_index=ignore_index))
    present = present[(present != 0) & (present != ignore_index)]
    vec = np.zeros(num_classes - 1, dtype=np.float32)
    vec[present - 1] = 1
    return vec


IMAGE_MASK_SUFFIXES = ('.png', '.bmp', '.tif', '.tiff')


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
        truncated_images (str): what a truncated JPEG / PNG image or a JPEG with corrupt
            data does when a sample is loaded: ``'error'`` (default) raises
            :class:`DataFileError` naming the file; ``'skip'`` warns (naming the file, once)
            and lets the training draw another sample (image and mask together). ``'skip'`` is
            refused with ``test_mode=True`` and by :class:`~mmseg_hfpl.engine.HFPLRunner` for
            a validation / test set, where another image would be scored in its place.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``,
            ``data_prefix=dict(img_path=..., seg_map_path=...)``, ``ann_file``, ``pipeline``,
            ``metainfo=dict(classes=..., palette=...)``...). Without ``seg_map_path`` the
            samples carry no mask (classification-only training). ``classes`` default to
            VOC's; other classes are used as they are (indices in the masks and label files
            are never remapped) and get the VOC colour map unless a palette is given.

    Checks that name the file: a split file listing a name twice and a malformed label file
    (see :func:`load_image_labels`) are refused when the dataset is built, a split without any
    positive image-level label warns, and a mask whose size (read from the file headers)
    differs from its image's is refused; for every sample, a truncated image, a JPEG with
    corrupt data (decoded once with PIL, :func:`corrupt_jpeg_reason`) and a mask that is not a
    single-channel index map of the image's size with values below the class count (or
    ``ignore_index``) are refused when loaded.
    """
    METAINFO = VOC_METAINFO

    def __init__(self,
                 cls_label_file: Optional[str] = None,
                 labels_from_masks: bool = False,
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 truncated_images: str = 'error',
                 **kwargs) -> None:
        if truncated_images not in ('error', 'skip'):
            raise ValueError(f"truncated_images must be 'error' or 'skip', got "
                             f'{truncated_images!r}')
        if truncated_images == 'skip' and kwargs.get('test_mode', False):
            raise ValueError("truncated_images='skip' is for training sets only: an evaluated "
                             'set would score another image in place of a skipped one')
        self.truncated_images = truncated_images
        self._skipped = set()
        self._decoded = set()  # images whose JPEG data decoded cleanly once
        if (cls_label_file is None) == (not labels_from_masks):
            raise ValueError('WSSSVOCDataset needs exactly one source of image-level labels: '
                             'cls_label_file=... or labels_from_masks=True')
        self.cls_label_file = cls_label_file
        self.labels_from_masks = labels_from_masks
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if 'classes' in metainfo and 'palette' not in metainfo:
            metainfo['palette'] = voc_colormap(len(metainfo['classes']))
        super().__init__(metainfo=metainfo, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None) -> None:
        """No remapping: a dataset's masks and label files use its own class indices."""
        return None

    def _resolve(self, path: str) -> str:
        if self.data_root and not osp.isabs(path):
            return osp.join(self.data_root, path)
        return path

    def _select(self, names: List[str]) -> List[str]:
        """The images ``indices`` selects from the split file (the first N, or the listed
        positions), taken here so that only their files are checked: another subset's
        pseudo-labels need not exist (configs/_base_/datasets/msrc_split.py). mmengine's own
        subset step after :meth:`load_data_list` then has nothing left to do."""
        if self._indices is None:
            return names
        if isinstance(self._indices, int):
            picked = list(range(min(self._indices, len(names))))
        else:
            picked = list(self._indices)
            bad = [i for i in picked if not -len(names) <= i < len(names)]
            if bad:
                raise IndexError(f'indices {bad[:5]} lie outside the {len(names)} images of '
                                 f'{self.ann_file!r}')
        self._indices = None
        return [names[i] for i in picked]

    def load_data_list(self) -> List[dict]:
        layout = ('see docs/en/dataset_prepare.md for the layout; the '
                  'embedded dataset: tools/make_synthetic_dataset.py')
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(f'data_root {self.data_root!r} does not exist ({layout})')
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file (ann_file) {self.ann_file!r} does not exist '
                                    f'({layout})')
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path', '')
        has_masks = bool(seg_dir) and seg_dir != self.data_root
        if self.labels_from_masks and not has_masks:
            raise ValueError('labels_from_masks=True needs data_prefix.seg_map_path')
        num_classes = len(self._metainfo['classes'])
        # image masks are compared with their images here (not AffinityNet's .npz marginals)
        image_masks = self.seg_map_suffix.lower() in IMAGE_MASK_SUFFIXES
        labels = None
        if self.cls_label_file is not None:
            label_path = self._resolve(self.cls_label_file)
            if not osp.isfile(label_path):
                raise FileNotFoundError(f'cls_label_file {label_path!r} does not exist')
            labels = load_image_labels(label_path, num_classes)
        names = self._select(read_split(self.ann_file, fileio.get_text(self.ann_file)))
        data_list = []
        for name in names:
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
                image_hw = image_size(img_path, 'image') if image_masks else None
                mask_hw = image_size(seg_path, 'mask') if image_masks else None
                if image_hw != mask_hw:  # headers only: no pixel is decoded
                    raise DataFileError(f'mask {seg_path!r} is {mask_hw[0]}x{mask_hw[1]} (HxW) '
                                        f'but its image {img_path!r} is '
                                        f'{image_hw[0]}x{image_hw[1]}')
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
        if no_positive_labels([info['img_label'] for info in data_list]):
            source = self.cls_label_file or f'the masks in {seg_dir!r}'
            warnings.warn(f'none of the {len(data_list)} images of split {self.ann_file!r} has '
                          f'a positive image-level label in {source}: a classifier trained on '
                          'it learns nothing (and scores 100 % accuracy)')
        return data_list

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``, checking the image file before it is decoded and
        the mask right after a ``LoadAnnotations`` transform has read it
        (:mod:`mmseg_hfpl.datasets.checks`)."""
        info = self.get_data_info(idx)
        reason = truncated_image_reason(info['img_path'])
        if not reason and info['img_path'] not in self._decoded:
            reason = corrupt_jpeg_reason(info['img_path'])
            if not reason:
                self._decoded.add(info['img_path'])
        if reason:
            message = f'image {info["img_path"]!r}: {reason}'
            if self.test_mode:
                raise DataFileError(message)
            if self.truncated_images == 'error':
                raise DataFileError(message + " (truncated_images='skip' leaves such images "
                                    'out of training, with a warning)')
            if info['img_path'] not in self._skipped:
                self._skipped.add(info['img_path'])
                warnings.warn(message + '; skipped (truncated_images=\'skip\')')
            return None  # mmengine's BaseDataset then draws another sample
        results = info
        try:
            for transform in self.pipeline.transforms:
                results = transform(results)
                if results is None:
                    return None
                if isinstance(transform, LoadAnnotations) and 'gt_seg_map' in results:
                    check_seg_map(results['gt_seg_map'], results.get('seg_map_path'),
                                  results.get('ori_shape'), len(self._metainfo['classes']),
                                  self.ignore_index)
        except DataFileError:
            raise
        except Exception as err:
            raise RuntimeError(f'failed to load sample {idx} (image {info["img_path"]!r}, mask '
                               f'{info.get("seg_map_path")!r}): {err}') from err
        return results


COCO_METAINFO = dict(
    classes=('background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
             'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter',
             'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
             'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis',
             'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard',
             'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife',
             'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
             'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
             'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard',
             'cell phone', 'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book',
             'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush'),
    palette=voc_colormap(81))


@DATASETS.register_module()
class WSSSCOCODataset(WSSSVOCDataset):
    """MS COCO 2014 in the VOC layout (:class:`WSSSVOCDataset` with COCO's 80 classes +
    background): the class index of a category is the rank of its id among the 80 ids, as
    hfpl's ``process_coco.py`` and ``tools/dataset_converters/coco2014.py``; the names are those
    of ``instances_*2014.json`` in that order."""
    METAINFO = COCO_METAINFO
