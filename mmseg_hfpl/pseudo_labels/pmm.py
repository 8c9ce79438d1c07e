"""PMM's pseudo-mask generation (Li et al., "Pseudo-mask Matters in Weakly-supervised Semantic
Segmentation", ICCV 2021): coefficient-of-variation smoothing (CVS) and proportional
pseudo-mask generation (PPMG), as ``pipeline/refine_cam.py`` of Eli-YiLi/PMM computes them.

Pure functions on the saved CAMs of :func:`~mmseg_hfpl.pseudo_labels.load_cams`:
``cams`` (K, H, W) float in [0, 1] and ``classes`` (K,) segmentation indices of the labelled
classes.
"""
from typing import Optional, Sequence

import numpy as np

from .cam_inference import split_background
from .crf import crf_probabilities

# PMM's ``crf_inference`` in refine_cam.py: 10 iterations, Gaussian kernel sxy 3 with compat 10
# (not SEAM's 3), bilateral sxy 80, srgb 13, compat 10.
PMM_CRF_CFG = dict(iterations=10, gaussian=(3, 10), bilateral=(80, 13, 10))


def pmm_crf(image_rgb: np.ndarray, scores: np.ndarray, iterations: int = 10,
            gaussian: Sequence[float] = (3, 10),
            bilateral: Sequence[float] = (80, 13, 10)) -> np.ndarray:
    """PMM's ``crf_inference``: unary ``-log(clip(score, 1e-5, 1))`` of the *unnormalised*
    scores (N, H, W) (unlike the default of :func:`crf_probabilities`, which normalises them
    first; the two differ where a score is clipped), returns the (N, H, W) marginals."""
    return crf_probabilities(image_rgb, scores, iterations, gaussian, bilateral,
                             normalise=False)


def _check_cam(cam: np.ndarray) -> np.ndarray:
    cam = np.asarray(cam, np.float64)
    if cam.ndim != 2:
        raise ValueError(f'cam must be one (H, W) map, got shape {cam.shape}')
    return cam


def coefficient_of_variation(cam: np.ndarray, threshold: float = 0.05,
                             scale: float = 0.3) -> float:
    """PMM's scaled CoV of one CAM: ``scale * std / mean`` over the pixels with ``v > threshold``
    (population std; 0 when no pixel passes), as PMM ``get_CoV`` (refine_cam.py)."""
    cam = _check_cam(cam)
    active = cam[cam > threshold]
    if active.size == 0:
        return 0.0
    return float(active.std() / (active + 1e-8).mean() * scale)  # PMM get_CoV


def cov_smoothing(cam: np.ndarray, cov: float, threshold: float = 0.05) -> np.ndarray:
    """CVS: values below ``threshold`` set to 0, then ``v ** (1 - cov)`` (PMM ``ppmg``,
    refine_cam.py). A spread-out CAM (large CoV) is lifted more."""
    cam = _check_cam(cam).copy()
    cam[cam < threshold] = 0
    return cam**(1.0 - cov)  # PMM ppmg: cvs ** (1 - cv[k])


def ppmg_labels(image_rgb: np.ndarray,
                cams: np.ndarray,
                classes: np.ndarray,
                alpha: float = 11,
                cam_threshold: float = 0.05,
                cov_scale: float = 0.3,
                crf_cfg: Optional[dict] = None) -> np.ndarray:
    """PPMG pseudo-mask (H, W) uint8 from the CAMs of the labelled classes.

    Per class ``k`` (PMM ``ppmg`` + ``get_CoV``, refine_cam.py):

    1. CVS: ``s_k = cov_smoothing(v_k, coefficient_of_variation(v_k))``;
    2. a two-label CRF on ``[(1 - s_k)^alpha, s_k]`` (PMM's CRF, :data:`PMM_CRF_CFG`); the
       foreground ``F_k`` is where its foreground marginal is > 0.5;
    3. importance ``v_k / (1 + sum(v_k * F_k))`` on the *unsmoothed* CAM, so a
       small object competes on equal terms with a large one where their masks overlap.

    Each pixel takes the class with the largest ``F_k * importance_k``; pixels claimed by no
    class are background (0), as are claimed pixels where every claiming class has ``v = 0``.

    Args:
        image_rgb: (H, W, 3) uint8 image (channel order does not matter to the CRF's colour
            kernel; PMM feeds OpenCV's BGR).
        cams: (K, H, W) CAMs in [0, 1]. classes: (K,) segmentation class indices; a leading
            background map (class 0, e.g. SIPE's) is ignored: PPMG builds its own background.
        alpha: background power (PMM uses 11 for PPMG). cam_threshold, cov_scale: CVS (0.05,
            0.3). crf_cfg: ``iterations``, ``gaussian``, ``bilateral`` of
            :func:`pmm_crf` (default PMM's).
    """
    cams = np.asarray(cams, np.float64)
    classes = np.asarray(classes).astype(np.int64).reshape(-1)
    if cams.ndim != 3 or cams.shape[0] != len(classes):
        raise ValueError(f'cams must be (K, H, W) with K = len(classes) = {len(classes)}, got '
                         f'shape {cams.shape}')
    if image_rgb.shape[:2] != cams.shape[1:] or image_rgb.ndim != 3:
        raise ValueError(f'image_rgb {image_rgb.shape} must be (H, W, 3) with (H, W) = the CAM '
                         f'size {cams.shape[1:]}')
    _, cams, classes = split_background(cams, classes)
    if np.any(classes < 1) or np.any(classes > 255):
        raise ValueError(f'classes must be foreground indices in 1..255, got {classes.tolist()}')
    crf_cfg = dict(PMM_CRF_CFG, **(crf_cfg or {}))
    image_rgb = np.ascontiguousarray(image_rgb, np.uint8)
    h, w = cams.shape[1:]
    background = np.ones((h, w), np.float64)
    scores = [background]
    for v in cams:
        smooth = cov_smoothing(v, coefficient_of_variation(v, cam_threshold, cov_scale),
                               cam_threshold)
        bg = np.power(1.0 - smooth, alpha)  # PMM ppmg: (1 - max(cvs))^alpha, one class
        marg = pmm_crf(image_rgb, np.stack([bg, smooth]), **crf_cfg)
        fg = (marg[1] > 0.5).astype(np.float64)
        importance = v / (1.0 + (v * fg).sum())  # PMM ppmg: v / (1 + sum(v * fg))
        scores.append(fg * importance)
        background = background * (fg == 0)
    scores[0] = background  # foreground[0] * importance[0] with importance[0] = foreground[0]
    keys = np.concatenate([[0], classes]).astype(np.uint8)
    return keys[np.argmax(np.stack(scores), axis=0)]
