"""Class-index masks from COCO instance annotations (``instances_*.json``), without pycocotools.

The arithmetic is that of hfpl's ``process_coco.py`` (arvijj/hfpl, which fills the official
``SegmentationClass`` masks of its COCO runs):

- the category ids in ascending order become the class indices 1 .. K (0 = background;
  ``process_coco.py:14-21``, COCO: 80 categories -> 81 classes, the order of
  ``configs/_base_/datasets/coco2014.py``);
- the annotations of an image are painted in their order in the file, a later one over an
  earlier one (``:44-47``); a polygon part is filled by ``cv2.fillPoly`` with its coordinates cast
  to int32 (truncated towards zero, ``:58-64``); an RLE annotation (crowd regions, compressed or
  uncompressed counts) is decoded and painted (``:67-77``: no special case for ``iscrowd``).

Two alternatives users meet are options: ``crowd='ignore'`` paints crowd regions 255 (void), and
``order='area'`` puts smaller objects on top (alicranck/coco2voc ``coco2voc_aux.py``, whose masks
ToCo links: sorted by area, the first annotation painted at a pixel keeps it; its polygons are
rasterised by pycocotools, here still by ``cv2.fillPoly``).
"""
from typing import Dict, List, Sequence, Union

import cv2
import numpy as np

IGNORE_INDEX = 255
CROWD_MODES = ('paint', 'ignore')
ORDERS = ('annotation', 'area')


def category_index_map(categories: Sequence[dict]) -> Dict[int, int]:
    """``{category id: class index}``: the ids in ascending order -> 1 .. K (0 is background).

    Raises:
        ValueError: a category id that occurs twice, or more than 254 categories (the masks are
            8-bit with 255 as void).
    """
    ids = [int(c['id']) for c in categories]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f'category ids {dup} occur more than once in "categories"')
    if len(ids) > 254:
        raise ValueError(f'{len(ids)} categories do not fit 8-bit masks with 255 as void')
    return {cid: index + 1 for index, cid in enumerate(sorted(ids))}


def rle_counts_from_string(counts: str) -> List[int]:
    """Decode the compressed RLE string of the COCO API (``maskApi.c:rleFrString``): 5 bits per
    character (offset 48), bit 0x20 = more characters follow, bit 0x10 of the last one = negative
    (sign-extended); from the fourth count on, each is stored as its difference to the count two
    before it."""
    out: List[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            if pos >= len(counts):
                raise ValueError(f'compressed RLE counts {counts[:40]!r}...: the last count is '
                                 'cut off (its final character has the continuation bit)')
            c = ord(counts[pos]) - 48
            if not 0 <= c < 64:
                raise ValueError(f'compressed RLE counts hold {counts[pos]!r} (position {pos}), '
                                 'outside the 64 characters of the format')
            value |= (c & 0x1f) << shift
            more = bool(c & 0x20)
            pos += 1
            shift += 5
            if not more and c & 0x10:
                value -= 1 << shift  # sign extension
        if len(out) > 2:
            value += out[-2]
        out.append(value)
    return out


def decode_rle(counts: Union[str, Sequence[int]], height: int, width: int) -> np.ndarray:
    """Binary ``(height, width)`` uint8 mask of COCO run lengths (``counts``: the compressed
    string or the uncompressed list), which alternate 0 and 1 runs starting with 0 over the
    pixels in column-major (Fortran) order.

    Raises:
        ValueError: negative runs, or runs that do not add up to ``height * width``.
    """
    runs = rle_counts_from_string(counts) if isinstance(counts, str) else [int(c) for c in counts]
    runs = np.asarray(runs, dtype=np.int64)
    if (runs < 0).any():
        raise ValueError(f'RLE counts hold negative runs: {runs[runs < 0][:5].tolist()}')
    if runs.sum() != height * width:
        raise ValueError(f'RLE counts add up to {int(runs.sum())} pixels, the mask has '
                         f'{height} x {width} = {height * width}')
    flat = np.repeat((np.arange(len(runs)) % 2).astype(np.uint8), runs)
    return np.ascontiguousarray(flat.reshape(width, height).T)


def annotation_mask(segmentation: Union[list, dict], height: int, width: int) -> np.ndarray:
    """Binary uint8 mask of one annotation's ``segmentation``: polygons (a list of
    ``[x1, y1, x2, y2, ...]`` parts, each filled as hfpl's ``overlay_poly``) or an RLE dict
    (``counts`` as a string or a list, ``size`` = [height, width])."""
    if isinstance(segmentation, dict):
        size = [int(s) for s in segmentation.get('size', (height, width))]
        if size != [height, width]:
            raise ValueError(f'RLE size {size} differs from the image size {[height, width]}')
        return decode_rle(segmentation['counts'], height, width)
    mask = np.zeros((height, width), np.uint8)
    for part in segmentation:
        if len(part) % 2:
            raise ValueError(f'polygon with an odd number of coordinates ({len(part)})')
        points = np.array(part, dtype=np.float64).astype(np.int32).reshape(1, -1, 2)
        cv2.fillPoly(mask, points, 1)
    return mask


def paint_class_mask(annotations: Sequence[dict], height: int, width: int,
                     category_index: Dict[int, int], crowd: str = 'paint',
                     order: str = 'annotation') -> np.ndarray:
    """The class-index mask (uint8, 0 = background, 255 = void) of one image's annotations.

    Args:
        annotations: the image's entries of ``annotations`` (``segmentation``, ``category_id``,
            ``iscrowd``, ``area``), in their order in the file.
        category_index: :func:`category_index_map`.
        crowd: ``'paint'`` (hfpl: crowd regions get their class) or ``'ignore'`` (255).
        order: ``'annotation'`` (hfpl: the file's order, a later annotation over an earlier
            one) or ``'area'`` (coco2voc / ToCo: the smallest area on top).
    """
    if crowd not in CROWD_MODES:
        raise ValueError(f'crowd must be one of {CROWD_MODES}, got {crowd!r}')
    if order not in ORDERS:
        raise ValueError(f'order must be one of {ORDERS}, got {order!r}')
    if order == 'area':  # coco2voc keeps the first of the ascending areas at a pixel: painted
        # in the reverse of that order, the last one painted wins (ties: the earlier in the file)
        annotations = sorted(annotations, key=lambda a: a['area'])[::-1]
    out = np.zeros((height, width), np.uint8)
    for ann in annotations:
        try:
            value = category_index[int(ann['category_id'])]
        except KeyError:
            raise ValueError(f'annotation {ann.get("id")}: category_id {ann["category_id"]} is '
                             'not in "categories"') from None
        if crowd == 'ignore' and ann.get('iscrowd', 0):
            value = IGNORE_INDEX
        try:
            mask = annotation_mask(ann['segmentation'], height, width)
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f'annotation {ann.get("id")} (image {ann.get("image_id")}): '
                             f'{err}') from err
        out[mask.astype(bool)] = value
    return out


def image_labels(mask: np.ndarray, num_categories: int) -> np.ndarray:
    """Multi-hot float32 ``(num_categories,)`` of the classes present in a class-index mask
    (void and background left out): hfpl's ``cls_labels.npy`` comes from the masks
    (``coco/data.py:load_image_label_from_ann``), so an object painted over entirely or too
    thin to fill a pixel is not a label."""
    present = np.unique(mask)
    present = present[(present != 0) & (present != IGNORE_INDEX)]
    vec = np.zeros(num_categories, np.float32)
    vec[present.astype(np.int64) - 1] = 1
    return vec
