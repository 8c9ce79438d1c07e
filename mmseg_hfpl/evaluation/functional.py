"""Contour accuracy (boundary F) of the DAVIS benchmark, as used by the paper (Sec. 5.1).

Same conventions as the official ``contour_fscore.py`` of hfpl: one-pixel boundaries from
``seg2bmap``, a match tolerance of ``ceil(bound_th * image diagonal)`` pixels (a disk), matches
accumulated over the dataset per foreground class, and F averaged over the foreground classes.
The reference formulation is :mod:`mmseg_hfpl.evaluation.reference`; ``tools/benchmarks/
boundary_f.py`` compares the two.
"""
import math

import numpy as np


def seg2bmap(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary map of a binary mask (Martin et al.; DAVIS ``seg2bmap``).

    A pixel is on the boundary when it differs from its east, south or south-east neighbour;
    the last row compares east only, the last column south only, and the corner is never set.
    The boundary of ``mask`` is that of its complement, i.e. of class 0 of the label map ``mask``.
    """
    seg = np.asarray(mask).astype(np.uint8)
    if seg.ndim != 2:
        raise ValueError(f'mask must be (H, W), got shape {seg.shape}')
    return class_boundary_bits(seg != 0, 1)[0] != 0


def boundary_tolerance(shape, bound_th: float = 0.008) -> int:
    """Match radius in pixels: ``bound_th`` itself if >= 1, else ``ceil(bound_th * diagonal)``."""
    if bound_th >= 1:
        return int(bound_th)
    return int(math.ceil(bound_th * math.hypot(shape[0], shape[1])))


def _bit_dtype(num_classes: int):
    """Smallest unsigned dtype with one bit per class (uint64 words beyond 64 classes)."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if num_classes <= np.iinfo(dtype).bits:
            return dtype
    return np.uint64


def class_boundary_bits(label: np.ndarray, num_classes: int) -> np.ndarray:
    """:func:`seg2bmap` of ``label == c`` for every class ``c`` at once, as bit planes.

    Returns a (words, H, W) array: bit ``c % bits`` of word ``c // bits`` is set where pixel is on
    the boundary of class ``c``. ``seg2bmap`` marks ``p`` when ``label == c`` differs between ``p``
    and its east, south or south-east neighbour ``q`` (east only on the last row, south only on
    the last column), i.e. when ``label[p] != label[q]`` and one of them is ``c``: such a pair sets
    the bits of both labels. Labels outside ``[0, num_classes)`` set no bit but still bound the
    classes next to them.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'label must be (H, W), got shape {label.shape}')
    if label.dtype.itemsize > 1 and label.size and 0 <= label.min() and label.max() < 256:
        label = label.astype(np.uint8)  # same comparisons, a quarter to an eighth of the bytes
    dtype = _bit_dtype(num_classes)
    nbits = np.iinfo(dtype).bits
    words = -(-num_classes // nbits)
    valid = (label >= 0) & (label < num_classes)
    lab = np.where(valid, label, 0)
    out = np.zeros((words, ) + label.shape, dtype)
    # (p, q) slices of the east, south and south-east neighbour pairs
    pairs = (((slice(None), slice(None, -1)), (slice(None), slice(1, None))),
             ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),
             ((slice(None, -1), slice(None, -1)), (slice(1, None), slice(1, None))))
    differs = [(label[sp] != label[sq]).astype(dtype) for sp, sq in pairs]
    for word in range(words):
        inword = valid & (lab // nbits == word)
        shift = (lab % nbits).astype(dtype)
        bit = np.where(inword, np.left_shift(dtype(1), shift), 0).astype(dtype)
        for (sp, sq), diff in zip(pairs, differs):
            out[word][sp] |= (bit[sp] | bit[sq]) * diff
    return out


def dilate_bits(bits: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of every bit plane of ``bits`` (..., H, W) by the disk
    ``x^2 + y^2 <= radius^2`` (``skimage.morphology.disk``), zero outside the image, as
    ``scipy.ndimage.binary_dilation`` with that structuring element. The disk is a union of
    horizontal runs, so the dilation is a few horizontal ORs followed by vertical ones."""
    if radius <= 0:
        return bits.copy()
    half_width = [math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)]
    runs = {0: bits}
    run = bits.copy()
    for k in range(1, half_width[0] + 1):
        run[..., k:] |= bits[..., :-k]
        run[..., :-k] |= bits[..., k:]
        if k in half_width:
            runs[k] = run.copy()
    out = runs[half_width[0]].copy()
    for dy in range(1, radius + 1):
        row = runs[half_width[dy]]
        out[..., dy:, :] |= row[..., :-dy, :]
        out[..., :-dy, :] |= row[..., dy:, :]
    return out


def _bit_counts(bits: np.ndarray, num_classes: int) -> np.ndarray:
    """Per class, the number of pixels whose bit is set in (words, H, W) ``bits``."""
    nbits = bits.dtype.itemsize * 8
    counts = np.zeros(bits.shape[0] * nbits, np.int64)
    for word, plane in enumerate(bits):
        set_pixels = plane[plane != 0]
        if set_pixels.size:
            counts[word * nbits:(word + 1) * nbits] = np.unpackbits(
                set_pixels.view(np.uint8).reshape(set_pixels.size, -1), axis=1,
                bitorder='little').sum(axis=0)
    return counts[:num_classes]


def boundary_f_matches(pred: np.ndarray,
                       gt: np.ndarray,
                       num_classes: int,
                       bound_th: float = 0.008) -> np.ndarray:
    """Per-class boundary match counts of one image.

    Equal to the official ``f_matches`` on ``pred == c`` and ``gt == c`` for every class ``c``
    (``tests/test_evaluation``), with all classes handled at once as bit planes
    (:func:`class_boundary_bits`, :func:`dilate_bits`).

    Args:
        pred, gt: (H, W) integer label maps.
        num_classes: number of classes ``C`` (rows of the result).
        bound_th: tolerance as a fraction of the image diagonal (or pixels if >= 1).

    Returns:
        int64 array (C, 4); row ``c`` holds, for the binary masks ``pred == c`` and ``gt == c``:
        (prediction boundary pixels matched, ground-truth boundary pixels matched,
        prediction boundary pixels, ground-truth boundary pixels).
    """
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'pred and gt must be (H, W) maps of one shape, got {pred.shape} and '
                         f'{gt.shape}')
    radius = boundary_tolerance(gt.shape, bound_th)
    pred_bits = class_boundary_bits(pred, num_classes)
    gt_bits = class_boundary_bits(gt, num_classes)
    counts = np.zeros((num_classes, 4), dtype=np.int64)
    counts[:, 0] = _bit_counts(pred_bits & dilate_bits(gt_bits, radius), num_classes)
    counts[:, 1] = _bit_counts(gt_bits & dilate_bits(pred_bits, radius), num_classes)
    counts[:, 2] = _bit_counts(pred_bits, num_classes)
    counts[:, 3] = _bit_counts(gt_bits, num_classes)
    return counts


def boundary_f_score(counts: np.ndarray) -> np.ndarray:
    """Per-class F from accumulated (C, 4) match counts, with the official conventions: no
    prediction boundary -> precision 1; no ground-truth boundary -> recall 1 (so a class absent
    from both scores 1); precision + recall = 0 -> F = 0."""
    counts = np.asarray(counts, dtype=np.float64)
    pm, gm, npred, ngt = counts.T
    # with one side empty, the other side's matches are 0, which gives the official 0 / 1 cases
    precision = np.where(npred > 0, pm / np.maximum(npred, 1), 1.0)
    recall = np.where(ngt > 0, gm / np.maximum(ngt, 1), 1.0)
    denom = precision + recall
    return np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
