"""Loading mmengine checkpoints on torch >= 2.6 with ``weights_only=True``.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 checkpoints hold
a ``MessageHub`` state (``HistoryBuffer`` objects with numpy arrays and scalars, and the
``HistoryBuffer`` statistics methods pickled through ``getattr``), which that unpickler rejects,
so ``--resume`` and ``load_from`` fail with ``UnpicklingError: Weights only load failed``
(open-mmlab/mmengine#1655; fixed after 0.10.7 in the maintained fork onedl-mmengine 0.10.12 by
the same allowlist, ``mmengine/runner/checkpoint.py:get_torch_safe_globals``). Importing
:mod:`mmseg_hfpl` registers mmengine's local-file loader with ``weights_only=True`` and exactly
those types allowed (:func:`checkpoint_safe_globals`, scoped to the load): anything else in a
checkpoint is refused, naming the file. ``MMSEG_HFPL_TRUST_CHECKPOINTS=1`` loads with
``weights_only=False`` instead (the behaviour of torch < 2.6: only for files you trust).
"""
import os
import os.path as osp
import pickle
from typing import Callable, List

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'MMSEG_HFPL_TRUST_CHECKPOINTS'
# how torch's weights_only unpickler names a global or class outside the allowlist
DISALLOWED = ('Unsupported global', 'allowlisted via `add_safe_globals`',
              'call reduce for unrecognized function')


class DisallowedTypeError(pickle.UnpicklingError):
    """A checkpoint holding a type outside :func:`checkpoint_safe_globals`; names the file."""


def checkpoint_safe_globals() -> List[Callable]:
    """The non-tensor types of an mmengine checkpoint's ``message_hub`` state: ``HistoryBuffer``
    (and ``getattr``, by which its ``min`` / ``max`` / ``mean`` / ``current`` methods are
    pickled), numpy arrays and scalars of the numeric dtypes, and ``slice``."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if np.lib.NumpyVersion(np.__version__) >= '2.0.0':
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    numeric = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
               np.uint64, np.float16, np.float32, np.float64)
    return [HistoryBuffer, getattr, slice, multiarray._reconstruct, multiarray.scalar,
            np.ndarray, np.dtype, *dict.fromkeys(type(np.dtype(t)) for t in numeric)]


def load_local_checkpoint(filename: str, map_location=None):
    """mmengine's ``load_from_local`` with ``weights_only=True`` and
    :func:`checkpoint_safe_globals` allowed (or ``weights_only=False`` when
    ``MMSEG_HFPL_TRUST_CHECKPOINTS=1``)."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    if os.environ.get(TRUST_ENV) == '1':
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not any(m in str(err) for m in DISALLOWED):
            raise  # not a checkpoint, or damaged
        raise DisallowedTypeError(
            f'checkpoint {filename!r} holds a type that mmseg_hfpl does not load with '
            f'weights_only=True ({err}). If you trust the file, allow that type with '
            'torch.serialization.add_safe_globals([...]) or set '
            f'{TRUST_ENV}=1 (weights_only=False)') from None


def register_local_loader() -> None:
    """Make :func:`load_local_checkpoint` mmengine's loader of local files (``--resume``,
    ``load_from``, ``init_cfg=dict(type='Pretrained', checkpoint=PATH)``)."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
