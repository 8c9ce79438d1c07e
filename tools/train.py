"""Train a model (mmseg 1.2.2's tools/train.py with the mmseg_hfpl plugin and CPU-only
distributed support).

Batch size: a config stating ``total_batch_size`` (the official recipe's batch over all GPUs)
trains with ``total_batch_size // world_size`` images per process at the config's learning rate,
so ``tools/dist_train.sh CONFIG N`` runs the recipe for any N that divides it (another N is an
error); ``--cfg-options train_dataloader.batch_size=B`` sets the per-process batch explicitly.
The effective total batch is logged at start. Without CUDA, SyncBN is trained as BN (logged).
"""
import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmseg.registry import RUNNERS

import mmseg_hfpl  # noqa: F401  registers the plugin and the torch>=2.6 checkpoint loader
from mmseg_hfpl.pseudo_labels.config import resolve_pseudo_label_dir
from mmseg_hfpl.engine import HFPLRunner
from mmseg_hfpl.engine.cfg_options import merge_cfg_options
from mmseg_hfpl.engine.dist import (destroy_process_group, init_cpu_process_group,
                                    launcher_world_size, set_train_batch_size, sync_bn_to_bn)
from mmseg_hfpl.engine.process_exit import skip_exit_collection


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically (or from '
        'load_from when the config sets it)')
    parser.add_argument(
        '--allow-partial', action='store_true',
        help='load_from / --resume: load the checkpoint keys that fit the model (default: '
        'refuse a checkpoint whose keys or shapes differ, naming the file)')
    parser.add_argument(
        '--amp', action='store_true', default=False, help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format '
        'will be merged into config file.')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank, older versions --local_rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def prepare_distributed(cfg, launcher: str) -> None:
    """On CPU-only machines, run distributed jobs on gloo with CPU DDP (wrapped as mmengine's
    Runner wraps a GPU model: no buffer broadcast, the config's ``find_unused_parameters``)."""
    cfg.launcher = launcher
    init_cpu_process_group(launcher)  # unless a group exists already
    if launcher == 'pytorch' and not torch.cuda.is_available():
        cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
        wrapper['device_ids'] = None  # DDP of a CPU module takes no device ids
        wrapper.setdefault('broadcast_buffers', False)
        wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
        cfg.model_wrapper_cfg = wrapper


def prepare_device(cfg) -> list:
    """Config changes for the machine at hand; returns the messages for the training log.

    Without CUDA, every ``SyncBN`` of the model is built as ``BN`` (SyncBN cannot run on CPU
    under DDP; single-process SyncBN is BN anyway), in this one place rather than per config.
    """
    if torch.cuda.is_available():
        return []
    count = sync_bn_to_bn(cfg.model)
    return [f'no CUDA: {count} SyncBN layer config(s) built as BN'] if count else []


def build_runner(cfg, allow_partial: bool = False):
    """The config's runner (``runner_type``), by default
    :class:`~mmseg_hfpl.engine.HFPLRunner` (NaN / Inf guard, checked checkpoint loading);
    ``allow_partial``: load the checkpoint keys that fit instead of refusing a mismatch."""
    runner = HFPLRunner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if isinstance(runner, HFPLRunner):
        runner.allow_partial_checkpoint = allow_partial
    return runner


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)  # a mistyped key is refused
    resolve_pseudo_label_dir(cfg)  # pseudo_label_dir is relative to the working directory
    prepare_distributed(cfg, args.launcher)
    world_size = launcher_world_size(args.launcher)
    explicit_batch = 'train_dataloader.batch_size' in (args.cfg_options or {})
    _, _, batch_message = set_train_batch_size(cfg, world_size, explicit_batch)
    messages = [batch_message] + prepare_device(cfg)

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp is True:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    cfg.resume = args.resume

    runner = build_runner(cfg, args.allow_partial)
    if runner.world_size != world_size:
        raise RuntimeError(f'the runner has {runner.world_size} processes, the launcher '
                           f'{args.launcher!r} said {world_size}')
    for message in messages:
        runner.logger.info(message)
    runner.train()
    destroy_process_group()


if __name__ == '__main__':
    skip_exit_collection()
    main()
