"""Loading a checkpoint into a model for inference so that a bad file is refused by name.

mmengine's ``load_checkpoint`` raises ``EOFError`` / ``PytorchStreamReader failed`` without the
path on an empty or truncated file, and loads a checkpoint of another model with only
missing-key warnings (the rest of the model stays randomly initialised). The tools that run a
trained model (pseudo-label generation, refinement) load through :func:`load_checkpoint_checked`;
:class:`~mmseg_hfpl.engine.HFPLRunner` (``tools/train.py`` ``load_from`` / ``--resume``,
``tools/test.py``) checks through :func:`load_state_checked`.
"""
import logging
import os.path as osp
from typing import Dict, Iterable, List, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn

from .checkpoint_compat import DisallowedTypeError, load_local_checkpoint

MAX_LISTED = 10


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read or does not fit the model; names the file."""


def _listed(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    more = f' ... and {len(keys) - MAX_LISTED} more' if len(keys) > MAX_LISTED else ''
    return ', '.join(keys[:MAX_LISTED]) + more


def read_checkpoint(path: str) -> dict:
    """``torch.load`` of a local checkpoint that names ``path`` when it is missing, empty,
    truncated or not a checkpoint; returns the loaded dict."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path!r} does not exist')
    if osp.getsize(path) == 0:
        raise CheckpointError(f'checkpoint {path!r} is empty (0 bytes): an interrupted save? '
                              'Use another checkpoint of the run or train again')
    try:
        ckpt = load_local_checkpoint(path, map_location='cpu')
    except DisallowedTypeError as err:  # a type outside the weights_only allowlist
        raise CheckpointError(str(err)) from err
    except Exception as err:
        raise CheckpointError(f'checkpoint {path!r} cannot be read ({type(err).__name__}: {err}): '
                              'the file is truncated or not a PyTorch checkpoint') from err
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'checkpoint {path!r} holds a {type(ckpt).__name__}, expected a dict '
                              'with a state_dict (or a state dict)')
    return ckpt


def checkpoint_state_dict(ckpt: dict, path: str) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint (``ckpt['state_dict']`` or ``ckpt`` itself), with
    a DDP ``module.`` prefix removed."""
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict) or not state or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'checkpoint {path!r} has no state dict of tensors (keys: '
                              f'{_listed(map(str, ckpt))})')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside model wrappers (DDP, :class:`DenseCRFPostProcessor`) and TTA models,
    as mmengine's ``load_state_dict`` unwraps them: the module a checkpoint is loaded into."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def load_checkpoint_checked(model: nn.Module,
                            path: str,
                            allow_partial: bool = False,
                            check_finite: bool = True) -> dict:
    """Load the checkpoint at ``path`` into ``model`` (on the CPU, then copied into the
    model's tensors) and return the loaded checkpoint dict (``meta`` etc.).

    Args:
        model (nn.Module): the model (a DDP wrapper or TTA model is unwrapped).
        path (str): a local checkpoint file (mmengine's, or a plain state dict).
        allow_partial (bool): load the keys that fit and warn about the rest instead of
            refusing a checkpoint whose keys or shapes differ from the model's.
            Default: False.
        check_finite (bool): refuse a checkpoint whose parameters or buffers hold NaN / Inf
            (:func:`assert_finite_parameters`). Default: True.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CheckpointError: the file is empty, truncated or not a checkpoint; its keys or
            shapes do not match the model (unless ``allow_partial``); non-finite values.
    """
    ckpt = read_checkpoint(path)
    load_state_checked(model, ckpt, path, allow_partial, check_finite)
    return ckpt


def load_state_checked(model: nn.Module,
                       ckpt: dict,
                       path: str,
                       allow_partial: bool = False,
                       check_finite: bool = True) -> None:
    """Load the state dict of an already read checkpoint ``ckpt`` (from ``path``, named in
    the errors) into ``model`` after the checks of :func:`load_checkpoint_checked`; the
    model is left unchanged when the checkpoint is refused."""
    model = unwrap_model(model)
    state = checkpoint_state_dict(ckpt, path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k} {tuple(state[k].shape)} vs {tuple(v.shape)}' for k, v in own.items()
                  if k in state and state[k].shape != v.shape]
    problems: List[str] = []
    if missing:
        problems.append(f'{len(missing)} of the model\'s keys are missing: {_listed(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} keys are not in the model: {_listed(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shapes differ (checkpoint vs model): '
                        f'{_listed(mismatched)}')
    if problems:
        summary = f'checkpoint {path!r} does not match the {type(model).__name__}: ' + \
            '; '.join(problems)
        if not allow_partial:
            raise CheckpointError(summary + ' (a checkpoint of another model or config? '
                                  'allow_partial=True (--allow-partial in the tools) loads '
                                  'the keys that fit)')
        print_log(summary + '; loading the keys that fit', logger='current',
                  level=logging.WARNING)
        skip = {m.split(' ')[0] for m in mismatched}
        state = {k: v for k, v in state.items() if k not in skip}
    if check_finite:  # before loading: a refused checkpoint leaves the model as it was
        _refuse_non_finite(non_finite_tensors(state.items()), path)
    model.load_state_dict(state, strict=False)


def non_finite_tensors(tensors: Iterable[Tuple[str, torch.Tensor]]) -> List[str]:
    """``'name (k of n values)'`` for each floating-point tensor holding NaN or Inf."""
    bad = []
    for name, tensor in tensors:
        if tensor.is_floating_point():
            finite = torch.isfinite(tensor.detach())
            if not bool(finite.all()):
                bad.append(f'{name} ({int((~finite).sum())} of {finite.numel()} values)')
    return bad


def _refuse_non_finite(bad: List[str], path: str) -> None:
    if bad:
        raise CheckpointError(f'checkpoint {path!r} holds non-finite (NaN / Inf) values in '
                              f'{len(bad)} tensor(s): {_listed(bad)}; the training it comes '
                              'from diverged: use an earlier checkpoint or train again')


def assert_finite_parameters(model: nn.Module, path: str) -> None:
    """Raise :class:`CheckpointError` naming ``path`` (where the values came from) and the
    tensors when a floating-point parameter or buffer of ``model`` holds NaN or Inf (e.g. a
    checkpoint saved after the training diverged)."""
    model = unwrap_model(model)
    _refuse_non_finite(
        non_finite_tensors(list(model.named_parameters()) + list(model.named_buffers())), path)
