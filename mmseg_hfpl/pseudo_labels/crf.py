"""Dense CRF refinement of CAMs (pydensecrf, provided by the pydensecrf2 package)."""
from typing import Sequence, Tuple

import numpy as np

from .cam_inference import split_background


def _dense_crf():
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import unary_from_labels, unary_from_softmax
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError('CRF refinement needs pydensecrf: pip install pydensecrf2') from err
    return dcrf, unary_from_softmax, unary_from_labels


def crf_probabilities(image_rgb: np.ndarray,
                      probs: np.ndarray,
                      iterations: int = 10,
                      gaussian: Sequence[float] = (3, 3),
                      bilateral: Sequence[float] = (80, 13, 10),
                      normalise: bool = True) -> np.ndarray:
    """Mean-field dense CRF on score maps, PSA / SEAM style (``crf_inference``).

    Args:
        image_rgb: (H, W, 3) uint8 RGB image.
        probs: (N, H, W) non-negative scores, one map per label (normalised inside unless
            ``normalise=False``: then the unary is ``-log(clip(score, 1e-5))`` of the raw
            scores, as PMM's ``crf_inference``).
        gaussian: (sxy, compat) of the smoothness kernel. bilateral: (sxy, srgb, compat).

    Returns:
        (N, H, W) float32 marginals.
    """
    dcrf, unary_from_softmax, _ = _dense_crf()
    n, h, w = probs.shape
    d = dcrf.DenseCRF2D(w, h, n)
    probs = probs.astype(np.float32)
    if normalise:
        probs = np.maximum(probs, 1e-8)
        probs = probs / probs.sum(axis=0, keepdims=True)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=gaussian[0], compat=gaussian[1])
    d.addPairwiseBilateral(sxy=bilateral[0], srgb=bilateral[1],
                           rgbim=np.ascontiguousarray(image_rgb), compat=bilateral[2])
    return np.asarray(d.inference(iterations), np.float32).reshape(n, h, w)


def crf_cam_probabilities(image_rgb: np.ndarray, cams: np.ndarray, classes: np.ndarray,
                          alpha: float, **kwargs) -> Tuple[np.ndarray, np.ndarray]:
    """SEAM / PSA CRF marginals (``_crf_with_alpha``) on [``(1 - max_c r_c)^alpha``, CAMs],
    the unary ``-log(clip(score, 1e-5))`` of these scores as they are (hfpl / SEAM
    ``imutils.crf_inference``; ``normalise=True`` divides them by their sum first).

    A small ``alpha`` keeps the background strong (confident objects), a large one weakens it
    (confident background). CAMs with the model's own background map ``b`` (class 0, SIPE) use
    ``b^alpha`` instead of ``1 - max``.

    Returns:
        (marginals (1 + K, H, W) float32, keys (1 + K, ) uint8: 0 then the classes).
    """
    bg_map, cams, classes = split_background(cams, classes)
    keys = np.concatenate([[0], classes]).astype(np.uint8)
    if len(classes) == 0:
        return np.ones((1, ) + image_rgb.shape[:2], np.float32), keys
    bg = 1.0 - cams.max(axis=0) if bg_map is None else bg_map
    bg = np.power(np.clip(bg, 0.0, None), alpha)[None]
    # the scores as they are (imutils.crf_inference:229: unary_from_softmax of bgcam_score,
    # -log of the scores clipped at 1e-5), not normalised to sum to 1
    kwargs.setdefault('normalise', False)
    return crf_probabilities(image_rgb, np.concatenate([bg, cams]), **kwargs), keys


def crf_cam_labels(image_rgb: np.ndarray, cams: np.ndarray, classes: np.ndarray, alpha: float,
                   **kwargs) -> np.ndarray:
    """SEAM / PSA pseudo-labels: argmax of :func:`crf_cam_probabilities`."""
    marg, keys = crf_cam_probabilities(image_rgb, cams, classes, alpha, **kwargs)
    return keys[np.argmax(marg, axis=0)]


def crf_label_refine(image_rgb: np.ndarray,
                     label: np.ndarray,
                     classes: np.ndarray,
                     gt_prob: float = 0.7,
                     iterations: int = 10,
                     gaussian: Sequence[float] = (3, 3),
                     bilateral: Sequence[float] = (50, 5, 10)) -> np.ndarray:
    """IRN / SIPE label CRF (``crf_inference_label``): refine a hard label map whose classes are
    ``[0] + classes`` (a leading 0 in ``classes`` is the background itself); returns the refined
    (H, W) uint8 label map."""
    dcrf, _, unary_from_labels = _dense_crf()
    classes = np.asarray(classes)
    classes = classes[1:] if len(classes) and classes[0] == 0 else classes
    keys = np.concatenate([[0], classes]).astype(np.int64)
    lut = np.zeros(256, np.int64)
    lut[keys] = np.arange(len(keys))
    compact = lut[label]
    n = len(keys)
    if n == 1:
        return np.zeros_like(label, np.uint8)
    h, w = label.shape
    d = dcrf.DenseCRF2D(w, h, n)
    d.setUnaryEnergy(unary_from_labels(compact, n, gt_prob=gt_prob, zero_unsure=False))
    d.addPairwiseGaussian(sxy=gaussian[0], compat=gaussian[1])
    d.addPairwiseBilateral(sxy=bilateral[0], srgb=bilateral[1],
                           rgbim=np.ascontiguousarray(image_rgb), compat=bilateral[2])
    q = np.asarray(d.inference(iterations)).reshape(n, h, w)
    return keys[np.argmax(q, axis=0)].astype(np.uint8)
