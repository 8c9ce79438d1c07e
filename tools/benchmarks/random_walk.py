"""Random walk: the exact sparse form against the dense one of PSA / SEAM / hfpl / IRN.

    .venv/bin/python tools/benchmarks/random_walk.py [--repeats 3]

Each measurement runs in a fresh process (so peak memory is its own): a random affinity of the
neighbour pairs of a grid (PSA: 56x56, radius 5, beta 8, 2^6 steps; IRN: 125x94, radius 5,
beta 10, 2^8 steps) and 21 seed channels; the dense form builds the (N, N) matrix and multiplies
the seeds by it 2^logt times (the cheaper of the official forms), the sparse form is
``mmseg_hfpl.pseudo_labels.random_walk``. Printed: median time, extra peak memory (VmHWM after
minus VmRSS before the walk), the max difference of the results, and the ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from machine import machine_line

CASES = [  # name, height, width, radius, beta, logt
    ('PSA 56x56', 56, 56, 5, 8.0, 6),
    ('IRN 125x94', 125, 94, 5, 10.0, 8),
]


def _status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0  # MB
    return float('nan')


def worker(form, h, w, radius, beta, logt, repeats):
    import torch

    from mmseg_hfpl.pseudo_labels import dense_affinity, neighbour_pairs, random_walk
    pairs = neighbour_pairs(h, w, radius, crop_border=True)
    gen = torch.Generator().manual_seed(0)
    values = torch.rand(pairs.shape[1], generator=gen)
    seeds = torch.rand(21, h * w, generator=gen)
    # load the dense and sparse kernels once before measuring (their code is not the walk's)
    small = neighbour_pairs(4, 4, 2)
    random_walk(small, torch.rand(small.shape[1]), 16, torch.rand(2, 16), beta, 1)
    dense_affinity(small, torch.rand(small.shape[1]), 16) @ torch.rand(16, 2)
    times = []
    before = _status('VmRSS')
    for _ in range(repeats):
        start = time.perf_counter()
        if form == 'dense':
            trans = dense_affinity(pairs, values, h * w).pow(beta)
            trans = trans / trans.sum(dim=0, keepdim=True)
            out = seeds
            for _ in range(2**logt):
                out = out @ trans
            del trans
        else:
            out = random_walk(pairs, values, h * w, seeds, beta, logt)
        times.append(time.perf_counter() - start)
    peak = _status('VmHWM') - before
    torch.save(out, os.environ['RW_OUT'])
    print(json.dumps(dict(time=statistics.median(times), mem=peak, n=repeats)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--cases', nargs='+', choices=[c[0] for c in CASES],
                        default=[c[0] for c in CASES], help='which grids (default: all)')
    parser.add_argument('--worker', nargs=7, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        form, h, w, r, beta, logt, rep = args.worker
        worker(form, int(h), int(w), int(r), float(beta), int(logt), int(rep))
        return
    import tempfile

    import torch
    print(f'{machine_line()}; torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads; 21 seed channels, float32')
    print(f'{"case":>11} | {"dense s":>8} {"sparse s":>9} {"speed-up":>8} | {"dense MB":>9} '
          f'{"sparse MB":>10} {"mem ratio":>9} | {"max diff":>8}')
    print('-' * 88)
    for name, h, w, r, beta, logt in CASES:
        if name not in args.cases:
            continue
        res, outs = {}, {}
        for form in ('dense', 'sparse'):
            with tempfile.NamedTemporaryFile(suffix='.pt', delete=False) as f:
                path = f.name
            proc = subprocess.run([sys.executable, __file__, '--worker', form, str(h), str(w),
                                   str(r), str(beta), str(logt), str(args.repeats)],
                                  capture_output=True, text=True, env=dict(os.environ,
                                                                           RW_OUT=path))
            if proc.returncode != 0:
                sys.exit(f'{name} {form} failed:\n{proc.stderr[-2000:]}')
            res[form] = json.loads(proc.stdout.strip().splitlines()[-1])
            outs[form] = torch.load(path)
            os.remove(path)
        diff = (outs['dense'] - outs['sparse']).abs().max().item()
        d, s = res['dense'], res['sparse']
        print(f'{name:>11} | {d["time"]:8.3f} {s["time"]:9.3f} {d["time"] / s["time"]:7.1f}x | '
              f'{d["mem"]:9.1f} {s["mem"]:10.1f} {d["mem"] / max(s["mem"], 0.1):8.1f}x | '
              f'{diff:8.1e}')
    print(f'time = median of {args.repeats}; MB = extra peak resident memory of the walk')


if __name__ == '__main__':
    main()
