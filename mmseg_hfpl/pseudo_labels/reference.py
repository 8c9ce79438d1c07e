"""The official dense arithmetic of the pseudo-label stages, re-derived for the tests (as
``mmseg_hfpl/losses/reference.py`` does for FSL): small inputs only, O(N^2) memory."""
import numpy as np
from torch import Tensor


def psa_pair_indices(radius: int, size):
    """``tool/pyutils.get_indices_of_pairs`` of PSA / SEAM / hfpl: (from (M,), to (D*M,))."""
    search = [(0, x) for x in range(1, radius)]
    search += [(y, x) for y in range(1, radius) for x in range(-radius + 1, radius)
               if x * x + y * y < radius * radius]
    rf = radius - 1
    full = np.arange(size[0] * size[1]).reshape(size)
    ch, cw = size[0] - rf, size[1] - 2 * rf
    ind_from = full[:-rf, rf:-rf].reshape(-1)
    ind_to = np.concatenate([full[dy:dy + ch, rf + dx:rf + dx + cw].reshape(-1)
                             for dy, dx in search])
    return ind_from, ind_to


def dense_random_walk(affinity: Tensor, seeds: Tensor, beta: float, logt: int) -> Tensor:
    """``infer_aff_voc.py``: ``trans = A^beta / colsum``, squared ``logt`` times, then
    ``seeds @ trans``."""
    aff = affinity.pow(beta)
    trans = aff / aff.sum(dim=0, keepdim=True)
    for _ in range(logt):
        trans = trans @ trans
    return seeds.to(trans.dtype) @ trans


def block_reduce_mean(image: np.ndarray, block_size) -> np.ndarray:
    """``skimage.measure.block_reduce(image, block_size, np.mean)`` (cval 0) as its documentation
    and source describe it: each axis is padded at its end with ``cval`` up to a multiple of its
    block size (``np.pad``, mode 'constant'), the array is cut into blocks (``view_as_blocks``)
    and ``func`` is applied over each block; here one block at a time."""
    pad = [(0, (-size) % block) for size, block in zip(image.shape, block_size)]
    padded = np.pad(image, pad, mode='constant', constant_values=0)
    out_shape = tuple(size // block for size, block in zip(padded.shape, block_size))
    out = np.empty(out_shape, np.float64)
    for index in np.ndindex(*out_shape):
        window = tuple(slice(i * b, (i + 1) * b) for i, b in zip(index, block_size))
        out[index] = np.mean(padded[window])
    return out


def psa_affinity_labels(low: np.ndarray, high: np.ndarray, pool: int = 8) -> np.ndarray:
    """``VOC12AffDataset.__getitem__`` after the crop (hfpl ``voc12/data.py:232-256``): 8x8 block
    means of the two CRF marginal stacks (H, W, N) (``imutils.AvgPool2d``:
    ``block_reduce(img, (8, 8, 1), np.mean)``, ``tool/imutils.py:130-138``), argmax of each,
    objects of the low one, background of the high one, 255 where no map has a score."""
    label = np.concatenate([low, high], axis=-1)
    label = block_reduce_mean(label, (pool, pool, 1))
    no_score = np.max(label, -1) < 1e-5
    la, ha = np.array_split(label, 2, axis=-1)
    la = np.argmax(la, axis=-1).astype(np.uint8)
    ha = np.argmax(ha, axis=-1).astype(np.uint8)
    out = la.copy()
    out[la == 0] = 255
    out[ha == 0] = 0
    out[no_score] = 255
    return out
