"""Distributed set-up that also works on machines without a GPU, and the batch-size semantics of
the configs (``total_batch_size``: the recipe's batch over all processes)."""
import os
from typing import Optional, Tuple

import torch
import torch.distributed as dist

TOTAL_BATCH_KEY = 'total_batch_size'

# the environment variable each launcher sets to the number of processes (mmengine's init_dist)
WORLD_SIZE_ENV = {'pytorch': 'WORLD_SIZE', 'slurm': 'SLURM_NTASKS', 'mpi': 'OMPI_COMM_WORLD_SIZE'}


def init_cpu_process_group(launcher: str) -> bool:
    """Initialise a gloo process group for ``--launcher pytorch`` when CUDA is unavailable.

    mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and fails on a CPU-only machine;
    the Runner only calls it when no process group exists, so creating the gloo group first lets
    ``tools/dist_train.sh`` run on CPUs. Returns True when it created the group.
    """
    if launcher != 'pytorch' or torch.cuda.is_available() or dist.is_initialized():
        return False
    if 'RANK' not in os.environ or 'WORLD_SIZE' not in os.environ:
        raise RuntimeError('--launcher pytorch needs RANK and WORLD_SIZE (start it with torchrun '
                           'or tools/dist_train.sh)')
    dist.init_process_group(backend='gloo')
    return True


def destroy_process_group() -> None:
    """Tear the process group down before the interpreter exits: a gloo group left alive can
    abort a rank at shutdown ('terminate called without an active exception')."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def launcher_world_size(launcher: str) -> int:
    """The number of training processes ``launcher`` starts: 1 for ``'none'``, else the size of
    the existing process group or the launcher's environment variable (``WORLD_SIZE``,
    ``SLURM_NTASKS``, ``OMPI_COMM_WORLD_SIZE``)."""
    if launcher == 'none':
        return 1
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    if launcher not in WORLD_SIZE_ENV:
        raise ValueError(f'unknown launcher {launcher!r}, expected none, '
                         f'{", ".join(WORLD_SIZE_ENV)}')
    env = WORLD_SIZE_ENV[launcher]
    if env not in os.environ:
        raise RuntimeError(f'--launcher {launcher} needs the environment variable {env} (the '
                           'number of processes)')
    return int(os.environ[env])


def per_process_batch_size(total: int, world_size: int) -> int:
    """``total // world_size``; a clear error when the total batch does not split evenly (the
    recipe's batch would silently change)."""
    if not isinstance(total, int) or total < 1:
        raise ValueError(f'{TOTAL_BATCH_KEY} must be a positive integer, got {total!r}')
    if total % world_size:
        divisors = [n for n in range(1, total + 1) if total % n == 0]
        raise ValueError(f'{TOTAL_BATCH_KEY}={total} does not split over {world_size} processes; '
                         f'use a number of processes in {divisors} (or set '
                         f'train_dataloader.batch_size per process explicitly)')
    return total // world_size


def set_train_batch_size(cfg, world_size: int, explicit_per_process: bool = False) -> Tuple[
        int, int, str]:
    """Set ``cfg.train_dataloader.batch_size`` (per process) from the config's total batch.

    A config that states ``total_batch_size`` (the official recipe's batch over all GPUs) trains
    with ``total_batch_size // world_size`` images per process, whatever the number of processes,
    at the config's learning rate; a number of processes that does not divide it is an error.
    ``explicit_per_process`` (``train_dataloader.batch_size`` given on the command line) keeps
    that per-process batch. A config without ``total_batch_size`` keeps mmseg's per-process
    meaning of ``train_dataloader.batch_size``.

    Returns ``(per_process, total, message)``; the message (for the training log) states the
    effective total batch and where it comes from.
    """
    loader = cfg.get('train_dataloader')
    if loader is None:
        raise KeyError('the config has no train_dataloader')
    total: Optional[int] = cfg.get(TOTAL_BATCH_KEY)
    if total is not None and not explicit_per_process:
        per = per_process_batch_size(total, world_size)
        loader.batch_size = per
        source = f'the config\'s {TOTAL_BATCH_KEY}'
    else:
        per = loader.batch_size
        if total is None:
            source = f'per-process train_dataloader.batch_size (no {TOTAL_BATCH_KEY} in the config)'
        else:
            source = (f'train_dataloader.batch_size from --cfg-options, not the config\'s '
                      f'{TOTAL_BATCH_KEY}={total}')
    return per, per * world_size, (f'effective total batch size {per * world_size} = '
                                   f'{world_size} process(es) x {per} ({source})')


def sync_bn_to_bn(cfg) -> int:
    """Replace every ``SyncBN`` norm config under ``cfg`` (a dict / list tree, e.g. the model
    config) by ``BN`` in place; returns the number replaced. SyncBN needs CUDA under DDP; BN has
    the same parameters and buffers (checkpoints load unchanged) and normalises over each
    process's batch."""
    count = 0
    if isinstance(cfg, dict):
        if cfg.get('type') == 'SyncBN':
            cfg['type'] = 'BN'
            count += 1
        for value in cfg.values():
            count += sync_bn_to_bn(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            count += sync_bn_to_bn(value)
    return count


def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of ``value`` over all processes (a detached copy; ``value`` itself with one
    process). A collective: every process must call it.

    A loss normalised by a count over its batch (``sum / count``) becomes, divided by the mean
    count over the processes, the total batch's ``sum / count`` once DDP averages the gradients
    and the logs are averaged: what one process (or the official DataParallel) computes on the
    whole batch."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value.detach()
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / dist.get_world_size()
