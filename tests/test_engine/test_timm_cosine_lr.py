"""TimmCosineLR: the per-epoch learning rates of MCTformer's timm 0.4.12 schedule.

The reference below is timm 0.4.12's scheduler written from its source
(huggingface/pytorch-image-models at tag v0.4.12: ``timm/scheduler/scheduler.py`` ``Scheduler``
and ``timm/scheduler/cosine_lr.py`` ``CosineLRScheduler``, every branch: warm-up, warm-up prefix,
``t_mul`` cycles, ``decay_rate``, ``cycle_limit``, ``t_in_epochs``; noise left out, MCTformer
passes none), driven on a torch optimizer as the official loop does: ``create_scheduler``
(``scheduler_factory.py:26-40``) with MCTformer's arguments (main.py at 9606597: --epochs 60,
--min-lr 1e-5, --warmup-lr 1e-6, --warmup-epochs 5, --decay-rate 0.1, lr_cycle_mul 1,
lr_cycle_limit 1, no --lr-noise), then ``main.py:289-297`` trains an epoch and calls
``lr_scheduler.step(epoch)``.
"""
import math
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_SCHEDULERS
from mmengine.runner import Runner
from mmseg.registry import PARAM_SCHEDULERS
from torch import nn
from torch.utils.data import Dataset

import mmseg_hfpl  # noqa: F401  registers TimmCosineLR
from mmseg_hfpl.engine import TimmCosineLR

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MCT_CONFIG = osp.join(ROOT, 'configs', 'mctformer', 'mctformer-v2_deit-s_voc.py')
MCT_LR = 5e-4 * 64 / 512  # main.py:265 linear scaling of --lr 5e-4 at batch 64 on one GPU


class _Timm0412Scheduler:
    """timm 0.4.12 ``scheduler.py`` ``Scheduler`` (lines 25-85), without the noise (``_add_noise``
    returns the values unchanged for ``noise_range_t=None``)."""

    def __init__(self, optimizer, param_group_field='lr', initialize=True):
        self.optimizer = optimizer
        self.param_group_field = param_group_field
        self._initial_param_group_field = f'initial_{param_group_field}'
        if initialize:
            for i, group in enumerate(self.optimizer.param_groups):
                if param_group_field not in group:
                    raise KeyError(f'{param_group_field} missing from param_groups[{i}]')
                group.setdefault(self._initial_param_group_field, group[param_group_field])
        self.base_values = [group[self._initial_param_group_field]
                            for group in self.optimizer.param_groups]
        self.update_groups(self.base_values)

    def get_epoch_values(self, epoch):
        return None

    def get_update_values(self, num_updates):
        return None

    def step(self, epoch, metric=None):
        values = self.get_epoch_values(epoch)
        if values is not None:
            self.update_groups(values)

    def step_update(self, num_updates, metric=None):
        values = self.get_update_values(num_updates)
        if values is not None:
            self.update_groups(values)

    def update_groups(self, values):
        if not isinstance(values, (list, tuple)):
            values = [values] * len(self.optimizer.param_groups)
        for param_group, value in zip(self.optimizer.param_groups, values):
            param_group[self.param_group_field] = value


class _Timm0412Cosine(_Timm0412Scheduler):
    """timm 0.4.12 ``cosine_lr.py`` ``CosineLRScheduler`` (lines 27-107)."""

    def __init__(self, optimizer, t_initial, t_mul=1., lr_min=0., decay_rate=1., warmup_t=0,
                 warmup_lr_init=0, warmup_prefix=False, cycle_limit=0, t_in_epochs=True):
        super().__init__(optimizer, param_group_field='lr')
        assert t_initial > 0
        assert lr_min >= 0
        self.t_initial = t_initial
        self.t_mul = t_mul
        self.lr_min = lr_min
        self.decay_rate = decay_rate
        self.cycle_limit = cycle_limit
        self.warmup_t = warmup_t
        self.warmup_lr_init = warmup_lr_init
        self.warmup_prefix = warmup_prefix
        self.t_in_epochs = t_in_epochs
        if self.warmup_t:
            self.warmup_steps = [(v - warmup_lr_init) / self.warmup_t for v in self.base_values]
            super().update_groups(self.warmup_lr_init)
        else:
            self.warmup_steps = [1 for _ in self.base_values]

    def _get_lr(self, t):
        if t < self.warmup_t:
            lrs = [self.warmup_lr_init + t * s for s in self.warmup_steps]
        else:
            if self.warmup_prefix:
                t = t - self.warmup_t
            if self.t_mul != 1:
                i = math.floor(math.log(1 - t / self.t_initial * (1 - self.t_mul), self.t_mul))
                t_i = self.t_mul ** i * self.t_initial
                t_curr = t - (1 - self.t_mul ** i) / (1 - self.t_mul) * self.t_initial
            else:
                i = t // self.t_initial
                t_i = self.t_initial
                t_curr = t - (self.t_initial * i)
            gamma = self.decay_rate ** i
            lr_min = self.lr_min * gamma
            lr_max_values = [v * gamma for v in self.base_values]
            if self.cycle_limit == 0 or (self.cycle_limit > 0 and i < self.cycle_limit):
                lrs = [lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr / t_i))
                       for lr_max in lr_max_values]
            else:
                lrs = [self.lr_min for _ in self.base_values]
        return lrs

    def get_epoch_values(self, epoch):
        return self._get_lr(epoch) if self.t_in_epochs else None

    def get_update_values(self, num_updates):
        return self._get_lr(num_updates) if not self.t_in_epochs else None


def create_scheduler(optimizer, epochs, min_lr, warmup_lr, warmup_epochs, decay_rate=0.1):
    """timm 0.4.12 ``scheduler_factory.py:26-40`` for ``--sched cosine`` without noise."""
    return _Timm0412Cosine(optimizer, t_initial=epochs, t_mul=1., lr_min=min_lr,
                           decay_rate=decay_rate, warmup_lr_init=warmup_lr,
                           warmup_t=warmup_epochs, cycle_limit=1, t_in_epochs=True)


def reference_epoch_lrs(base_lrs, epochs, t_initial, lr_min, warmup_t, warmup_lr_init,
                        steps_per_epoch=3):
    """[[lr of each group] for each epoch] of main.py's loop (train epoch e, with its
    ``step_update`` calls, which a per-epoch schedule ignores; then ``step(e)``) on an
    optimizer whose groups start at ``base_lrs``."""
    params = [nn.Parameter(torch.zeros(1)) for _ in base_lrs]
    optimizer = torch.optim.AdamW([dict(params=[p], lr=lr) for p, lr in zip(params, base_lrs)])
    sched = create_scheduler(optimizer, t_initial, lr_min, warmup_lr_init, warmup_t)
    out, updates = [], 0
    for epoch in range(epochs):
        lrs = [g['lr'] for g in optimizer.param_groups]  # what train_one_epoch(epoch) uses
        for _ in range(steps_per_epoch):
            updates += 1
            sched.step_update(updates)
            assert [g['lr'] for g in optimizer.param_groups] == lrs  # t_in_epochs=True
        out.append(lrs)
        sched.step(epoch)
    return out


def stepped_epoch_lrs(base_lrs, epochs, registry=PARAM_SCHEDULERS, **kwargs):
    """The same, with the scheduler built from a config dict and stepped as mmengine's
    ParamSchedulerHook does (once after each training epoch)."""
    params = [nn.Parameter(torch.zeros(1)) for _ in base_lrs]
    optimizer = torch.optim.AdamW([dict(params=[p], lr=lr) for p, lr in zip(params, base_lrs)])
    sched = registry.build(dict(type='TimmCosineLR', by_epoch=True, **kwargs),
                           default_args=dict(optimizer=optimizer))
    out = []
    for _ in range(epochs):
        out.append([g['lr'] for g in optimizer.param_groups])
        optimizer.step()
        sched.step()
    return out


MCT = dict(t_initial=60, lr_min=1e-5, warmup_t=5, warmup_lr_init=1e-6)


def test_mctformer_schedule_equals_timm_0412_for_60_epochs():
    ref = reference_epoch_lrs([MCT_LR, 10 * MCT_LR], 60, **MCT)
    ours = stepped_epoch_lrs([MCT_LR, 10 * MCT_LR], 60, **MCT)
    assert len(ours) == 60
    for epoch, (a, b) in enumerate(zip(ours, ref)):
        assert a == pytest.approx(b, rel=1e-12, abs=0), epoch
    lr = [e[0] for e in ours]
    step = (MCT_LR - 1e-6) / 5
    # epoch 0 trains at the constructor's warmup_lr_init and epoch 1 at _get_lr(0): the same
    assert lr[0] == lr[1] == pytest.approx(1e-6, rel=1e-12)
    assert lr[2] == pytest.approx(1e-6 + step, rel=1e-12)
    # the warm-up's last epoch (5) is _get_lr(4) = 4/5 of the way: base_lr is never reached
    assert lr[5] == pytest.approx(1e-6 + 4 * step, rel=1e-12)
    # junction: epoch 6 is the cosine at t = 5 of 60 (counted from epoch 0, not a fresh one)
    cos = [1e-5 + 0.5 * (MCT_LR - 1e-5) * (1 + math.cos(math.pi * t / 60)) for t in range(60)]
    assert lr[6] == pytest.approx(cos[5], rel=1e-12)
    assert lr[59] == pytest.approx(cos[58], rel=1e-12)
    assert max(lr) == pytest.approx(cos[5], rel=1e-12) and max(lr) < MCT_LR
    # the group at 10 x lr keeps its own base (timm's base_values are per group)
    assert ours[30][1] == pytest.approx(1e-5 + 0.5 * (10 * MCT_LR - 1e-5) *
                                        (1 + math.cos(math.pi * 29 / 60)), rel=1e-12)
    # the former schedule (5-epoch LinearLR to base_lr, then a fresh 55-epoch cosine) differs
    assert abs(lr[5] - MCT_LR) > 0.1 * MCT_LR


@pytest.mark.parametrize('kwargs,epochs', [
    (dict(t_initial=6, lr_min=0.01, warmup_t=2, warmup_lr_init=0.001), 9),  # past the cycle
    (dict(t_initial=4, lr_min=0.0, warmup_t=0, warmup_lr_init=0.5), 6),  # no warm-up
    (dict(t_initial=3, lr_min=0.05, warmup_t=3, warmup_lr_init=0.0), 5),  # all warm-up
])
def test_small_schedules_equal_timm_0412(kwargs, epochs):
    ref = reference_epoch_lrs([0.1, 0.3], epochs, **kwargs)
    ours = stepped_epoch_lrs([0.1, 0.3], epochs, registry=MMENGINE_SCHEDULERS, **kwargs)
    for epoch, (a, b) in enumerate(zip(ours, ref)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), epoch
    if kwargs['warmup_t'] == 0:
        assert ours[0] == [0.1, 0.3]  # no warm-up: epoch 0 at base_lr, as _get_lr(0)
    if kwargs['t_initial'] < epochs - 1:  # after the one cycle: lr_min
        assert ours[-1] == [kwargs['lr_min']] * 2


def test_hand_values_of_a_small_schedule():
    # t_initial 4, warm-up 2 from 0 to base 1, lr_min 0: _get_lr(t) = 0, 0.5, then the
    # cosine 0.5 (1 + cos(pi t / 4)) at t = 2, 3, then 0
    ours = [e[0] for e in stepped_epoch_lrs([1.0], 7, t_initial=4, lr_min=0.0, warmup_t=2,
                                             warmup_lr_init=0.0)]
    half = 0.5 * (1 + math.cos(math.pi * 3 / 4))
    assert ours == pytest.approx([0.0, 0.0, 0.5, 0.5, half, 0.0, 0.0], abs=1e-15)


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(loss=(self.w * inputs).sum())


class _Data(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.tensor(float(i)))


def test_a_real_runner_trains_each_epoch_at_the_official_lr(tmp_path):
    lrs = []

    class Record(Hook):  # lr of the first iteration of each epoch
        priority = 'LOWEST'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if batch_idx == 0:
                lrs.append(runner.optim_wrapper.get_lr()['lr'][0])

    kwargs = dict(t_initial=6, lr_min=0.01, warmup_t=2, warmup_lr_init=0.001)
    runner = Runner(
        model=_Toy(), work_dir=str(tmp_path), default_scope='mmseg',
        train_dataloader=dict(dataset=_Data(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(type='TimmCosineLR', **kwargs),  # end: max_epochs
        train_cfg=dict(by_epoch=True, max_epochs=8),
        default_hooks=dict(checkpoint=None, logger=None), custom_hooks=[Record()])
    runner.train()
    ref = [e[0] for e in reference_epoch_lrs([0.1], 8, **kwargs)]
    assert len(lrs) == 8
    assert lrs == pytest.approx(ref, rel=1e-12)


def test_resumed_scheduler_continues_the_curve():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=MCT_LR)
    sched = TimmCosineLR(opt, **MCT)
    for _ in range(20):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=MCT_LR)
    resumed = TimmCosineLR(opt2, **MCT)
    resumed.load_state_dict(state)
    for o, s in ((opt, sched), (opt2, resumed)):
        o.step()
        s.step()
    ref = reference_epoch_lrs([MCT_LR], 22, **MCT)
    assert opt2.param_groups[0]['lr'] == opt.param_groups[0]['lr']
    assert opt2.param_groups[0]['lr'] == pytest.approx(ref[21][0], rel=1e-12)


def test_iteration_based_use_is_refused_by_name():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match='by_epoch=True'):
        TimmCosineLR(opt, t_initial=4, by_epoch=False)
    with pytest.raises(ValueError, match='convert_to_iter_based'):
        PARAM_SCHEDULERS.build(dict(type='TimmCosineLR', t_initial=4, convert_to_iter_based=True),
                               default_args=dict(optimizer=opt, epoch_length=10))
    with pytest.raises(ValueError, match='t_initial'):
        TimmCosineLR(opt, t_initial=0)


def test_mctformer_configs_use_the_official_schedule():
    """The full-size config's scheduler, built at its optimizer's lr, gives timm's 60 epochs."""
    cfg = Config.fromfile(MCT_CONFIG)
    assert cfg.train_cfg.max_epochs == 60
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'TimmCosineLR' and sched.by_epoch
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == MCT_LR
    kwargs = {k: v for k, v in sched.items() if k not in ('type', 'by_epoch', 'begin', 'end')}
    assert kwargs == MCT
    ours = [e[0] for e in stepped_epoch_lrs([lr], 60, **kwargs)]
    assert ours == pytest.approx([e[0] for e in reference_epoch_lrs([lr], 60, **MCT)],
                                 rel=1e-12)
    hfpl = Config.fromfile(osp.join(ROOT, 'configs', 'hfpl', 'mctformer_voc.py'))
    assert hfpl.param_scheduler == cfg.param_scheduler


def test_import_registers_it_for_mmseg_configs_in_a_fresh_interpreter():
    code = ('import mmseg_hfpl\n'
            'from mmengine.registry import PARAM_SCHEDULERS as E\n'
            'from mmseg.registry import PARAM_SCHEDULERS as S\n'
            "cls = E.get('TimmCosineLR')\n"
            "print(cls.__name__, S.get('TimmCosineLR') is cls)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.split() == ['TimmCosineLR', 'True']
