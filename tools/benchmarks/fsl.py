"""Benchmark: exact blockwise FSL vs the dense formulation of the official code.

Forward + backward of eq. 9 on the same random inputs (image in [0, 1], gated CAMs in [0, 1]),
each implementation in its own fresh process so that peak memory is measured cleanly:
``extra peak`` = peak RSS during the call - RSS just before it. Prints the processor, times,
ratios and the relative differences of value and gradient (the dense run is the reference), and
whether the speed goals (>= 15x at 56^2 with B=8, >= 20x at 112^2 with B=1) are met.

    .venv/bin/python tools/benchmarks/fsl.py            # B=8, C=21 at 28^2, 56^2, 112^2
    .venv/bin/python tools/benchmarks/fsl.py --threads 1
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
from machine import machine_line

GOALS = {(56, 8): 15.0, (112, 1): 20.0}  # (size, batch): speed-up over the dense reference


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def worker(impl: str, size: int, batch: int, channels: int, repeats: int, out: str,
           threads: int) -> None:
    import torch
    if threads:
        torch.set_num_threads(threads)

    from mmseg_hfpl.losses.functional import pairwise_feature_similarity
    from mmseg_hfpl.losses.reference import dense_feature_similarity
    fn = pairwise_feature_similarity if impl == 'blockwise' else dense_feature_similarity
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
    parser.add_argument('--worker', choices=['blockwise', 'dense'])
    parser.add_argument('--size', type=int)
    parser.add_argument('--out')
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.size, args.batch, args.channels, args.repeats, args.out,
               args.threads)
        return
    import torch
    threads = args.threads or torch.get_num_threads()
    print(f'{machine_line()}; torch {torch.__version__}, {threads} threads; forward+backward, '
          f'C={args.channels}; time = median of {args.repeats}')
    header = (f'{"size":>8} {"B":>2} | {"blockwise s":>11} {"dense s":>8} {"speed-up":>8} | '
              f'{"blockwise MB":>12} {"dense MB":>9} {"mem ratio":>9} | '
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
            f_out, d_out = os.path.join(tmp, 'f.npz'), os.path.join(tmp, 'd.npz')
            fast, err = run('blockwise', size, b_fast, args.channels, args.repeats, f_out,
                            args.threads)
            if fast is None:
                print(f'{size:>5}^2 {b_fast:>2} | blockwise failed: {err}')
                continue
            line = f'{size:>5}^2 {b_fast:>2} | {fast["time"]:>11.3f} '
            dense = None
            if b_dense is not None:
                dense, err = run('dense', size, b_dense, args.channels, args.repeats, d_out,
                                 args.threads)
            if dense is None:
                line += f'{"-":>8} {"-":>8} | {fast["extra_mb"]:>12.1f} {"-":>9} {"-":>9} | '
                line += f'{"-":>9} {"-":>9}'
            else:
                fv, dv = np.load(f_out), np.load(d_out)
                rel_v = abs(float(fv['value']) - float(dv['value'])) / abs(float(dv['value']))
                rel_g = np.abs(fv['grad'] - dv['grad']).max() / np.abs(dv['grad']).max()
                line += (f'{dense["time"]:>8.3f} {dense["time"] / fast["time"]:>7.1f}x | '
                         f'{fast["extra_mb"]:>12.1f} {dense["extra_mb"]:>9.1f} '
                         f'{dense["extra_mb"] / max(fast["extra_mb"], 1e-3):>8.1f}x | '
                         f'{rel_v:>9.1e} {rel_g:>9.1e}')
                goal = GOALS.get((size, b_fast))
                if goal is not None:
                    ratio = dense['time'] / fast['time']
                    verdicts.append(f'{size}^2 B={b_fast}: {ratio:.1f}x (goal >= {goal:.0f}x: '
                                    f'{"met" if ratio >= goal else "NOT met"})')
            print(line, flush=True)
    if verdicts:
        print('speed goals: ' + '; '.join(verdicts))


if __name__ == '__main__':
    main()
