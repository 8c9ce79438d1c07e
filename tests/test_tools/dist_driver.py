"""Trains several configs in turn inside ONE process group, for the distributed config tests.

Run by ``torchrun --nproc_per_node=N tests/test_tools/dist_driver.py SPEC.json OUT.json``
(``tests/test_tools/test_distributed_configs.py``). ``SPEC.json`` lists runs, each
``{"name", "config", "options": {key: value}, "cfg_options": ["key=value", ...],
"explicit_batch": bool, "autocast": bool}`` (``cfg_options`` parsed as ``--cfg-options``); each
rank builds every run's config exactly as ``tools/train.py`` does (its functions: CPU DDP,
``total_batch_size`` -> per-process batch, SyncBN -> BN without CUDA), builds the config's
runner and trains, with a probe hook that records per iteration the per-process batch, the loss
terms, the trainable parameters without gradient at the optimizer step and those with a
non-finite one, and after training the largest parameter difference to rank 0. ``"autocast":
true`` runs the training steps under ``torch.autocast('cpu', dtype=torch.bfloat16)`` (what
``--amp`` does on a GPU; mmengine's AmpOptimWrapper needs a GPU). A run that raises is recorded
with its error and the next run starts. Rank 0 writes ``OUT.json``: ``{name: [result of rank 0,
result of rank 1, ...]}``.
"""
import argparse
import datetime
import json
import math
import os.path as osp
import sys
import time
import traceback

import torch
import torch.distributed as dist

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
sys.path.insert(0, ROOT)

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402

import mmseg_hfpl  # noqa: E402,F401
import train as train_tool  # noqa: E402  tools/train.py
from mmseg_hfpl.engine.dist import launcher_world_size, set_train_batch_size  # noqa: E402
from mmseg_hfpl.engine.process_exit import skip_exit_collection  # noqa: E402
import mmengine.config.config as _config_module  # noqa: E402

# yapf formats a config's text (0.5-0.9 s per distinct config here) only for the runner's log
# and its dumped config, which this harness never reads: the text is left as mmengine builds it
_config_module.FormatCode = lambda text, **kwargs: (text, False)


def _number(value) -> float:
    if isinstance(value, torch.Tensor):
        value = value.detach().float().mean().item()
    return float(value)


class ProbeHook(Hook):
    """Records what the distributed config tests assert (see the module docstring)."""

    priority = 'LOWEST'

    def __init__(self, record: dict) -> None:
        self.record = record
        self.pending: dict = {}

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.model = model
        names = {id(p): n for n, p in model.named_parameters() if p.requires_grad}
        self.record['trainable'] = len(names)

        def at_step(optimizer, args, kwargs):
            params = [p for g in optimizer.param_groups for p in g['params']]
            in_optimizer = {id(p) for p in params}
            self.pending['no_grad'] = sorted(
                names[i] for i in names
                if i not in in_optimizer or dict_params[i].grad is None)
            self.pending['non_finite_grad'] = sorted(
                names[id(p)] for p in params if id(p) in names and p.grad is not None
                and not bool(torch.isfinite(p.grad).all()))

        dict_params = {id(p): p for p in model.parameters()}
        self.handle = runner.optim_wrapper.optimizer.register_step_pre_hook(at_step)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        losses = {k: _number(v) for k, v in (outputs or {}).items() if 'loss' in k}
        self.record['iters'].append(dict(
            iter=runner.iter, batch=len(data_batch['inputs']), losses=losses,
            no_grad=self.pending.pop('no_grad', None),
            non_finite_grad=self.pending.pop('non_finite_grad', None)))

    def after_train(self, runner) -> None:
        self.handle.remove()
        worst, names = 0.0, []
        for name, param in self.model.named_parameters():
            ref = param.detach().clone()
            dist.broadcast(ref, 0)
            diff = (ref - param.detach()).abs().max().item() if param.numel() else 0.0
            if diff > 0:
                names.append(name)
            worst = max(worst, diff)
        self.record['max_param_diff_to_rank0'] = worst
        self.record['params_differing'] = names[:10]


def autocast_train_step(model) -> None:
    """Run ``model.train_step`` (forward, loss and backward) under CPU bf16 autocast."""
    step = model.train_step

    def train_step(*args, **kwargs):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return step(*args, **kwargs)

    model.train_step = train_step


def keep_data_lists(dataset: dict) -> None:
    """Every dataset inside ``dataset`` (through ``datasets`` of a concatenation, ``dataset`` of
    a wrapper) keeps its data list as it is: mmengine's serialization, which saves loader
    workers' memory on full-size datasets only, ends in a gc.collect() of ~0.2 s per dataset."""
    if 'datasets' in dataset or 'dataset' in dataset:
        for part in dataset.get('datasets', [dataset.get('dataset')]):
            keep_data_lists(part)
    else:
        dataset['serialize_data'] = False


def train_one(spec: dict, work_root: str) -> dict:
    record = dict(iters=[], messages=[], error=None)
    cfg = Config.fromfile(osp.join(ROOT, spec['config']))
    # JSON has no tuples: a list value (a size) is a tuple in the configs
    cfg.merge_from_dict({k: tuple(v) if isinstance(v, list) else v
                         for k, v in spec.get('options', {}).items()})
    if spec.get('cfg_options'):
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *spec['cfg_options']]).cfg_options)
    keep_data_lists(cfg.train_dataloader.dataset)
    train_tool.prepare_distributed(cfg, 'pytorch')
    world_size = launcher_world_size('pytorch')
    per, total, message = set_train_batch_size(cfg, world_size, spec.get('explicit_batch', False))
    record.update(per_process_batch=per, total_batch=total, world_size=world_size,
                  config_total_batch=cfg.get('total_batch_size'))
    record['messages'] = [message] + train_tool.prepare_device(cfg)
    cfg.work_dir = osp.join(work_root, spec['name'])
    cfg.experiment_name = spec['name']
    runner = train_tool.build_runner(cfg)
    runner.register_hook(ProbeHook(record), priority='LOWEST')
    if spec.get('autocast'):
        autocast_train_step(runner.model)
    runner.train()
    return record


def main() -> None:
    spec_file, out_file = sys.argv[1:3]
    with open(spec_file) as f:
        specs = json.load(f)
    # one gloo group for all runs; a collective that waits longer than this fails the rank
    dist.init_process_group('gloo', timeout=datetime.timedelta(seconds=600))
    work_root = osp.join(osp.dirname(osp.abspath(out_file)), 'work')
    results = {}
    for spec in specs:
        torch.manual_seed(0)
        start = time.perf_counter()
        try:
            record = train_one(spec, work_root)
        except Exception as exc:  # recorded; the test names the run and shows the error
            record = dict(iters=[], error=f'{type(exc).__name__}: {exc}',
                          traceback=traceback.format_exc()[-3000:])
        record['seconds'] = round(time.perf_counter() - start, 2)  # reported, never asserted
        for it in record.get('iters', []):
            it['finite'] = all(math.isfinite(v) for v in it['losses'].values())
        gathered = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, record)
        results[spec['name']] = gathered
    if dist.get_rank() == 0:
        with open(out_file, 'w') as f:
            json.dump(results, f, indent=1)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    skip_exit_collection()
    main()
