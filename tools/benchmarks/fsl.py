"""Benchmark: exact blockwise FSL vs the dense formulation of the official code.

Forward + backward of eq. 9 on the same random inputs (image in [0, 1], gated CAMs in [0, 1]),
each implementation in its own fresh process so that peak memory is measured cleanly:
``extra peak`` = peak RSS during the call - RSS just before it. Prints the processor, times,
ratios and the relative differences of value and gradient (the dense run is the reference), and
whether the speed goals (>= 15x at 56^2 with B=8, >= 20x at 112^2 with B=1) are met.

With ``--load N`` every case is measured twice, quiet and with N competing busy processes running
through both measurements (each a 1-thread torch loop of 512x512 float32 matrix products, which
competes for the cores and their caches the way a data loader or another job does); the ratio
under load is printed next to the quiet one, and the goals must hold for both.

    .venv/bin/python tools/benchmarks/fsl.py            # B=8, C=21 at 28^2, 56^2, 112^2
    .venv/bin/python tools/benchmarks/fsl.py --threads 1
    .venv/bin/python tools/benchmarks/fsl.py --threads 1 --load 1
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from machine import processor_name

GOALS = {(56, 8): 15.0, (112, 1): 20.0}  # (size, batch): speed-up over the dense reference
LOSSES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      'mmseg_hfpl', 'losses')
_LOADED = {}


def losses_module(name: str):
    """``mmseg_hfpl/losses/<name>.py`` (``functional`` or ``reference``: torch alone) loaded by
    itself: importing the plugin (mmseg, mmcv) would add ~1.5 s to each of this benchmark's
    processes."""
    if name not in _LOADED:
        import importlib.util
        spec = importlib.util.spec_from_file_location(f'fsl_benchmark_{name}',
                                                      os.path.join(LOSSES, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED[name] = module
    return _LOADED[name]


def _processor_details() -> str:
    """``cpu family F, model M, stepping S`` from ``/proc/cpuinfo`` (virtual machines often report
    a generic model name) and the per-core L2 cache that sets the default block size."""
    _cpu_cache_bytes = losses_module('functional')._cpu_cache_bytes
    fields = {}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(':')
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    ids = ', '.join(f'{k} {fields[k]}' for k in ('cpu family', 'model', 'stepping') if k in fields)
    return f'{ids or "no cpuinfo"}, L2 {_cpu_cache_bytes() // 1024} KiB'



def busy(seconds: float) -> None:
    """One competing process: 1-thread 512x512 float32 matrix products until killed."""
    import torch
    torch.set_num_threads(1)
    a = torch.rand(512, 512)
    b = torch.empty_like(a)
    print('ready', flush=True)
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        torch.mm(a, a, out=b)


class Load:
    """``n`` busy processes (:func:`busy`) while the ``with`` block runs."""

    def __init__(self, n: int) -> None:
        self.n, self.procs = n, []

    def __enter__(self):
        env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
        for _ in range(self.n):
            # a time limit as a safety net; the processes are ended on leaving the block
            proc = subprocess.Popen([sys.executable, __file__, '--busy', '3600'], env=env,
                                    stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
        for proc in self.procs:
            proc.stdout.readline()  # 'ready': torch imported, the loop is starting
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        self.procs = []


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def worker(impl: str, size: int, batch: int, channels: int, repeats: int, out: str,
           threads: int) -> None:
    import torch
    if threads:
        torch.set_num_threads(threads)

    fn = (losses_module('functional').pairwise_feature_similarity if impl == 'blockwise' else
          losses_module('reference').dense_feature_similarity)
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, size, size, generator=gen)
    gated = torch.rand(batch, channels, size, size, generator=gen)
    warm = gated[:1, :, :4, :4].clone().requires_grad_()
    fn(image[:1, :, :4, :4], warm).backward()  # load kernels before measuring
    y = gated.clone().requires_grad_()
    before = _rss_mb()
    value = fn(image, y)
    value.backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times = []
    for _ in range(repeats):
        y2 = gated.clone().requires_grad_()
        start = time.perf_counter()
        fn(image, y2).backward()
        times.append(time.perf_counter() - start)
    np.savez(out, value=value.item(), grad=y.grad.numpy())
    print(json.dumps(dict(time=float(np.median(times)), extra_mb=peak - before)))


def run(impl, size, batch, channels, repeats, out, threads):
    cmd = [sys.executable, __file__, '--worker', impl, '--size', str(size), '--batch', str(batch),
           '--channels', str(channels), '--repeats', str(repeats), '--out', out,
           '--threads', str(threads)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        return None, res.stderr.strip().splitlines()[-1] if res.stderr else 'failed'
    return json.loads(res.stdout.strip().splitlines()[-1]), None


def measure(size, b_fast, b_dense, args, tmp):
    """Blockwise then dense (``b_dense`` None: blockwise only): ``(fast, dense, rel_v, rel_g)``;
    ``fast`` is None with the error message in ``dense`` when the blockwise run failed."""
    f_out, d_out = os.path.join(tmp, 'f.npz'), os.path.join(tmp, 'd.npz')
    fast, err = run('blockwise', size, b_fast, args.channels, args.repeats, f_out, args.threads)
    if fast is None:
        return None, err, None, None
    dense = rel_v = rel_g = None
    if b_dense is not None:
        dense, _ = run('dense', size, b_dense, args.channels, args.repeats, d_out, args.threads)
    if dense is not None:
        fv, dv = np.load(f_out), np.load(d_out)
        rel_v = abs(float(fv['value']) - float(dv['value'])) / abs(float(dv['value']))
        rel_g = float(np.abs(fv['grad'] - dv['grad']).max() / np.abs(dv['grad']).max())
    return fast, dense, rel_v, rel_g


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--sizes', type=int, nargs='+', default=[28, 56, 112])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--channels', type=int, default=21)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dense-batch-112', type=int, default=1,
                        help='batch of the dense reference at 112^2 (B=8 needs > 24 GB)')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads of both implementations (0: torch default)')
    parser.add_argument('--load', type=int, default=0,
                        help='also measure every case with this many competing busy processes '
                        '(1-thread torch matrix-product loops) running through both measurements')
    parser.add_argument('--worker', choices=['blockwise', 'dense'])
    parser.add_argument('--busy', type=float, help=argparse.SUPPRESS)
    parser.add_argument('--size', type=int)
    parser.add_argument('--out')
    args = parser.parse_args()
    if args.busy:
        busy(args.busy)
        return
    if args.worker:
        worker(args.worker, args.size, args.batch, args.channels, args.repeats, args.out,
               args.threads)
        return
    if args.load < 0:
        parser.error(f'--load must be >= 0, got {args.load}')
    import torch

    pair_block_elements = losses_module('functional').pair_block_elements
    threads = args.threads or torch.get_num_threads()
    print(f'{processor_name()} ({_processor_details()}), {os.cpu_count()} CPUs, load '
          f'{os.getloadavg()[0]:.2f}; torch {torch.__version__}, {threads} '
          f'threads; FSL block {pair_block_elements(torch.device("cpu"))} pairs; '
          f'forward+backward, C={args.channels}; time = median of {args.repeats}')
    if args.load:
        print(f'under load: {args.load} competing process(es), each a 1-thread torch loop of '
              '512x512 float32 matrix products, running through both measurements')
    loaded_head = f' {"loaded b s":>10} {"dense s":>8} {"speed-up":>8} |' if args.load else ''
    header = (f'{"size":>8} {"B":>2} | {"blockwise s":>11} {"dense s":>8} {"speed-up":>8} |'
              f'{loaded_head} {"blockwise MB":>12} {"dense MB":>9} {"mem ratio":>9} | '
              f'{"value rel":>9} {"grad rel":>9}')
    print(header)
    print('-' * len(header))
    tmp = tempfile.mkdtemp()
    verdicts = []
    for size in args.sizes:
        batch = args.batch
        dense_batch = args.dense_batch_112 if size >= 112 else batch
        rows = [(batch, dense_batch)] if dense_batch == batch else [(dense_batch, dense_batch),
                                                                    (batch, None)]
        for b_fast, b_dense in rows:
            fast, dense, rel_v, rel_g = measure(size, b_fast, b_dense, args, tmp)
            if fast is None:
                print(f'{size:>5}^2 {b_fast:>2} | blockwise failed: {dense}')
                continue
            ratios = [dense['time'] / fast['time'] if dense else None]
            line = f'{size:>5}^2 {b_fast:>2} | {fast["time"]:>11.3f} '
            line += (f'{dense["time"]:>8.3f} {ratios[0]:>7.1f}x |' if dense else
                     f'{"-":>8} {"-":>8} |')
            if args.load:
                with Load(args.load):
                    l_fast, l_dense, _, _ = measure(size, b_fast, b_dense, args, tmp)
                if l_fast is not None and l_dense is not None:
                    ratios.append(l_dense['time'] / l_fast['time'])
                    line += (f' {l_fast["time"]:>10.3f} {l_dense["time"]:>8.3f} '
                             f'{ratios[-1]:>7.1f}x |')
                else:
                    line += (f' {l_fast["time"] if l_fast else float("nan"):>10.3f} '
                             f'{"-":>8} {"-":>8} |')
            if dense is None:
                line += f' {fast["extra_mb"]:>12.1f} {"-":>9} {"-":>9} | {"-":>9} {"-":>9}'
            else:
                line += (f' {fast["extra_mb"]:>12.1f} {dense["extra_mb"]:>9.1f} '
                         f'{dense["extra_mb"] / max(fast["extra_mb"], 1e-3):>8.1f}x | '
                         f'{rel_v:>9.1e} {rel_g:>9.1e}')
                goal = GOALS.get((size, b_fast))
                if goal is not None:
                    shown = ' / '.join(f'{r:.1f}x' for r in ratios)
                    met = all(r >= goal for r in ratios)
                    verdicts.append(f'{size}^2 B={b_fast}: {shown} (goal >= {goal:.0f}x'
                                    f'{", quiet / loaded" if args.load else ""}: '
                                    f'{"met" if met else "NOT met"})')
            print(line, flush=True)
    if args.load:
        print(f'load average at the end: {os.getloadavg()[0]:.2f}')
    if verdicts:
        print('speed goals: ' + '; '.join(verdicts))


if __name__ == '__main__':
    main()
