"""Safe writing of pseudo-label PNGs: atomic, never into ground truth, never clobbering."""
import os.path as osp
from typing import Iterable, Optional, Sequence

import numpy as np
from PIL import Image

from ..fileio import atomic_path


def palette_bytes(palette: Optional[Sequence[Sequence[int]]]) -> list:
    flat = [int(v) for rgb in (palette or []) for v in rgb][:768]
    flat += [0] * (768 - len(flat))
    flat[255 * 3:255 * 3 + 3] = [224, 224, 192]  # VOC's void / ignore colour
    return flat


def write_label_png(path: str, label: np.ndarray, palette=None) -> None:
    """Write an (H, W) uint8 label map as a palette PNG, atomically (temp file + rename), so an
    interrupted run never leaves a truncated file behind."""
    png = Image.fromarray(np.asarray(label, np.uint8), mode='P')
    png.putpalette(palette_bytes(palette))
    with atomic_path(path) as tmp:
        png.save(tmp, format='PNG')


def write_npz(path: str, **arrays: np.ndarray) -> None:
    """Write arrays as a compressed .npz, atomically (temp file + rename; no temporary file
    is left when the write fails)."""
    with atomic_path(path, suffix='.npz') as tmp:  # numpy appends .npz to other names
        np.savez_compressed(tmp, **arrays)


def check_output_dirs(out_dirs: Iterable[str], protected_dirs: Iterable[str]) -> None:
    """Refuse output directories that are, lie inside or contain a protected (image or
    ground-truth) directory (:func:`~mmseg_hfpl.pseudo_labels.output_guard.check_outside`)."""
    from .output_guard import GuardedDir, check_outside
    guarded = [GuardedDir(osp.realpath(p), 'a directory of the images or ground-truth masks')
               for p in sorted(set(protected_dirs)) if p]
    for out in out_dirs:
        check_outside(out, guarded, what='output directory')
