"""Safe writing of pseudo-label PNGs: atomic, never into ground truth, never clobbering."""
import os
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
    """Refuse output directories equal to or inside a protected (ground-truth) directory."""
    protected = {osp.realpath(p) for p in protected_dirs if p}
    for out in out_dirs:
        real = osp.realpath(out)
        for gt in protected:
            if real == gt or real.startswith(gt + os.sep):
                raise ValueError(f'refusing to write pseudo-labels to {out!r}: it is (inside) the '
                                 f'ground-truth directory {gt!r}')
