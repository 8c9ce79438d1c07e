"""timm 0.4.12's cosine learning-rate schedule as DeiT / MCTformer step it, once per epoch.

MCTformer (xulianuwa/MCTformer at 9606597, ``main.py:270``) builds the schedule with timm
0.4.12's ``create_scheduler(args, optimizer)`` (``timm/scheduler/scheduler_factory.py``):
``CosineLRScheduler(t_initial=--epochs, lr_min=--min-lr, warmup_t=--warmup-epochs,
warmup_lr_init=--warmup-lr, t_mul=1, cycle_limit=1, t_in_epochs=True, noise_range_t=None)``, and
calls ``lr_scheduler.step(epoch)`` at the *end* of each epoch (``main.py:297``). In
``timm/scheduler/cosine_lr.py`` (v0.4.12):

- the constructor sets every group's lr to ``warmup_lr_init`` (``base_lr`` without a warm-up),
  so epoch 0 trains at it;
- ``step(e)`` sets the lr of epoch ``e + 1`` to ``_get_lr(e)``: for ``t < warmup_t``
  ``warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t`` (so epochs 0 and 1 both train
  at ``warmup_lr_init`` and the warm-up never reaches ``base_lr``), else (``warmup_prefix`` is
  False: the warm-up is laid over the cosine, which counts from epoch 0)
  ``lr_min + 0.5 * (base_lr - lr_min) * (1 + cos(pi * t / t_initial))`` for ``t < t_initial``
  and ``lr_min`` after the one cycle (``cycle_limit=1``).

Epoch ``k`` (mmengine's ``last_step``, counted from ``begin``) therefore trains at
``warmup_lr_init`` for ``k = 0`` and at ``_get_lr(k - 1)`` for ``k >= 1``.
"""
import math
from typing import List

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, OptimizerType, _ParamScheduler
from mmengine.registry import PARAM_SCHEDULERS


def timm_cosine_lr(t: int, base_lr: float, t_initial: int, lr_min: float, warmup_t: int,
                   warmup_lr_init: float) -> float:
    """timm 0.4.12 ``CosineLRScheduler._get_lr(t)`` of one group (``t_mul=1``, one cycle, no
    warm-up prefix, no noise)."""
    if t < warmup_t:
        return warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t
    if t >= t_initial:  # cycle index t // t_initial >= cycle_limit = 1
        return lr_min
    return lr_min + 0.5 * (base_lr - lr_min) * (1 + math.cos(math.pi * t / t_initial))


@PARAM_SCHEDULERS.register_module()
class TimmCosineLR(LRSchedulerMixin, _ParamScheduler):
    """The learning rate of timm 0.4.12's ``CosineLRScheduler`` stepped per epoch as DeiT /
    MCTformer's ``main.py`` does (see the module docstring): a cosine from each group's initial
    lr to ``lr_min`` over ``t_initial`` epochs counted from epoch 0, with a linear warm-up from
    ``warmup_lr_init`` laid over its first ``warmup_t`` epochs, each epoch's value set at the
    end of the previous one.

    Only the per-epoch form exists (timm's ``t_in_epochs=True``): ``by_epoch`` must be True
    and ``convert_to_iter_based`` is refused.

    Args:
        optimizer (Optimizer or OptimWrapper): the optimizer; each group's initial lr is
            timm's ``base_lr`` of that group.
        t_initial (int): epochs of the cosine (timm's ``t_initial`` = MCTformer's ``--epochs``).
        lr_min (float): the lr the cosine ends at (``--min-lr``). Default: 0.
        warmup_t (int): warm-up epochs (``--warmup-epochs``). Default: 0.
        warmup_lr_init (float): the lr the warm-up starts from (``--warmup-lr``). Default: 0.
        begin (int): first epoch of the schedule. Default: 0.
        end (int): epoch at which it stops changing the lr. Default: INF.
        last_step (int): for resuming without a state dict. Default: -1.
        by_epoch (bool): must be True. Default: True.
        verbose (bool): print each update. Default: False.
    """

    def __init__(self,
                 optimizer: OptimizerType,
                 t_initial: int,
                 lr_min: float = 0.,
                 warmup_t: int = 0,
                 warmup_lr_init: float = 0.,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if not by_epoch:
            raise ValueError('TimmCosineLR steps once per epoch as timm (t_in_epochs=True) in '
                             'MCTformer main.py; set by_epoch=True')
        if t_initial <= 0 or lr_min < 0 or warmup_t < 0:
            raise ValueError(f'TimmCosineLR needs t_initial > 0, lr_min >= 0 and warmup_t >= 0, '
                             f'got t_initial={t_initial}, lr_min={lr_min}, warmup_t={warmup_t}')
        self.t_initial = t_initial
        self.lr_min = lr_min
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls, *args, **kwargs):
        raise ValueError('TimmCosineLR follows timm\'s per-epoch steps (MCTformer main.py:297 '
                         'lr_scheduler.step(epoch)); remove convert_to_iter_based from its config')

    def _get_value(self) -> List[float]:
        """The lr of epoch ``last_step`` (since ``begin``) for every group."""
        k = self.last_step
        if k == 0:  # the constructor's value
            return [self.warmup_lr_init if self.warmup_t else base for base in self.base_values]
        return [
            timm_cosine_lr(k - 1, base, self.t_initial, self.lr_min, self.warmup_t,
                           self.warmup_lr_init) for base in self.base_values
        ]
