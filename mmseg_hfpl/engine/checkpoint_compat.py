"""Loading mmengine checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default; mmengine 0.10.7 checkpoints hold
a ``MessageHub`` state (``HistoryBuffer``, numpy scalars), so ``--resume`` and ``load_from``
fail with ``UnpicklingError: Weights only load failed`` (open-mmlab/mmengine#1655, fixed
upstream after 0.10.7). Importing :mod:`mmseg_hfpl` re-registers mmengine's local-file loader
with ``weights_only=False``: the behaviour of torch < 2.6. Load only checkpoints you trust, as
with any pickle.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_local_trusted(filename: str, map_location=None):
    """mmengine's ``load_from_local`` with ``weights_only=False``."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} does not exist')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_trusted_local_loader() -> None:
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local_trusted)
