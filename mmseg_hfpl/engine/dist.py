"""Distributed set-up that also works on machines without a GPU."""
import os

import torch
import torch.distributed as dist


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
