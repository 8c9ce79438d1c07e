"""Helpers shared by the tests that launch tools: distributed CPU jobs, CPU twins."""
import glob
import socket


def free_port() -> str:
    """A TCP port free on this machine now, for a distributed launch's rendezvous (a fixed port
    collides with the launch of a test that runs at the same time on the other xdist worker)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def retry_on_rank_abort(run_once):
    """``run_once(attempt)`` -> CompletedProcess; runs it once more (attempt 1) when a CPU rank
    aborted at interpreter exit after its work ('Signal 6 (SIGABRT)' from torchrun: seen about
    once in 30 runs, cause not found). The caller still checks every output of the run returned."""
    res = run_once(0)
    if res.returncode != 0 and 'Signal 6 (SIGABRT)' in res.stdout + res.stderr:
        res = run_once(1)
    return res


LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def twin_options(root, crop=True, extra=()):
    """``--cfg-options`` that run a CPU twin config on the embedded dataset at ``root`` with
    64x64 inputs (resize at pipeline index 1, crop at index 2 when ``crop``), batch 4 and no
    loader workers."""
    opts = [f'{k}.dataset.data_root={root}' for k in LOADERS]
    opts += ['model.data_preprocessor.size=(64,64)',
             'train_dataloader.dataset.pipeline.1.scale=(64,64)', 'train_dataloader.batch_size=4']
    opts += ['train_dataloader.dataset.pipeline.2.crop_size=(64,64)'] if crop else []
    for k in LOADERS:
        opts += [f'{k}.num_workers=0', f'{k}.persistent_workers=False']
    return opts + list(extra)


def short_training_options(iters):
    """Train ``iters`` iterations (poly schedule ending there), validate and save at the end,
    log every iteration."""
    return [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'param_scheduler.0.end={iters}', f'default_hooks.checkpoint.interval={iters}',
            'default_hooks.logger.interval=1']


def train_log(work_dir):
    """(log text, training lines with losses) of the run that ``tools/train.py`` wrote to
    ``work_dir`` (a pathlib.Path)."""
    log = open(glob.glob(str(work_dir / '*' / '*.log'))[0]).read()
    return log, [ln for ln in log.splitlines() if '(train)' in ln and 'loss:' in ln]


def output_files(directory):
    """Sorted names of the output files of a directory written by the pseudo-label tools
    (without the hidden ``.fingerprint.json`` of what made them)."""
    import os
    return sorted(f for f in os.listdir(directory) if not f.startswith('.'))
