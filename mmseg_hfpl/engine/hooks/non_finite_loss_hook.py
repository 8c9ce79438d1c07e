import logging
import math
from typing import Dict, List, Optional, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmseg.registry import HOOKS

from ..checkpoint_check import non_finite_tensors

DATA_BATCH = Optional[Union[dict, tuple, list]]


class NonFiniteLossError(FloatingPointError):
    """A training loss became NaN or infinite (raised by :class:`NonFiniteLossHook`)."""


def non_finite_terms(log_vars: Dict[str, object]) -> Dict[str, float]:
    """The loss terms (keys containing ``'loss'``, as mmengine's ``parse_losses`` sums them)
    of a train step's log variables whose value is NaN or infinite, as ``{name: value}``."""
    bad = {}
    for name, value in log_vars.items():
        if 'loss' not in name:
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().float()
            if not bool(torch.isfinite(value).all()):
                bad[name] = float(value.mean()) if value.numel() else float('nan')
        elif isinstance(value, (int, float)) and not math.isfinite(value):
            bad[name] = float(value)
    return bad


def _learning_rates(runner: Runner) -> List[float]:
    """The distinct current learning rates of the optimizer(s), in parameter-group order."""
    rates = runner.optim_wrapper.get_lr()
    values = []
    for key, group_rates in rates.items():  # {'lr': [...]} or {'<name>.lr': [...]}
        if key.endswith('lr'):
            values += [r for r in group_rates if r not in values]
    return values


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stops training at the first iteration whose loss is NaN or infinite.

    After every training iteration it reads the log variables returned by the model's
    ``train_step`` (the parsed losses) and raises :class:`NonFiniteLossError` naming the
    non-finite loss term(s), the iteration (1-based, as in the log and the checkpoint names)
    and the learning rate(s). Its priority (``'VERY_HIGH'``) makes it run before every other
    ``after_train_iter`` hook, in particular before :class:`~mmengine.hooks.CheckpointHook`
    (``'VERY_LOW'``), so no checkpoint of the broken state is written. In distributed runs
    the ranks agree (one all-reduce of a flag per iteration) and all stop together.

    The loss of an iteration is computed before its update, so an update that breaks the
    weights shows in the next iteration's loss; a checkpoint saved in between is refused too:
    before every save the hook checks the state dict and raises when a tensor holds NaN / Inf.

    Every config of this project gets it from :class:`~mmseg_hfpl.engine.HFPLRunner`
    (``runner_type`` in ``configs/_base_/default_runtime.py``); with mmengine's Runner add
    ``default_hooks=dict(non_finite=dict(type='NonFiniteLossHook'))``.
    """
    priority = 'VERY_HIGH'

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        bad = non_finite_terms(outputs) if isinstance(outputs, dict) else {}
        if get_world_size() > 1:
            flag = torch.tensor([float(bool(bad))])
            all_reduce(flag, op='sum')
            if flag.item() == 0:
                return
        elif not bad:
            return
        terms = ', '.join(f'{k}={v}' for k, v in bad.items()) or 'on another rank'
        self._stop(runner, f'non-finite loss: {terms}')

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        bad = non_finite_tensors(checkpoint.get('state_dict', {}).items())
        if bad:
            more = f' and {len(bad) - 5} more' if len(bad) > 5 else ''
            self._stop(runner, f'non-finite weights in {len(bad)} tensor(s) of the checkpoint '
                       f'to be saved: {", ".join(bad[:5])}{more}')

    @staticmethod
    def _stop(runner: Runner, what: str) -> None:
        raise non_finite_loss_error(runner, what)


def non_finite_loss_error(runner: Runner, what: str) -> NonFiniteLossError:
    """The :class:`NonFiniteLossError` of every diverged training: ``what`` went non-finite
    at the runner's current iteration, with the learning rate(s); also logged."""
    lrs = ', '.join(f'{lr:.6g}' for lr in _learning_rates(runner))
    message = (f'{what} at iteration {runner.iter + 1}, learning rate {lrs}. Training '
               'stopped before any checkpoint of this state was written. Try a lower '
               'learning rate (or a warm-up), gradient clipping (optim_wrapper.clip_grad), '
               'or check the inputs of this batch.')
    print_log(message, logger='current', level=logging.ERROR)  # also in the log file
    return NonFiniteLossError(message)

