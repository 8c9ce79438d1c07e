"""Run a study (configs x seeds), collect J / F / J&F, write mean +- std tables and plots.

    python tools/run_experiments.py configs/studies/synthetic.py [--seeds 0 1 2]
        [--workers 1] [--out work_dirs/studies/<study>]

A study file defines ``experiments`` (a list of ``dict(name=..., config=..., cfg_options=[...],
group=..., x=...)``) and ``seeds``. Every run trains with ``tools/train.py`` and
``randomness.seed=<seed>`` into ``<out>/<name>/seed<seed>/``; its final evaluation is saved as
``metrics.json`` there, and a rerun skips finished runs, so the table can be rebuilt or extended
at any time. Outputs: ``<out>/results.md``, ``<out>/results.csv`` (mean +- sample std over seeds,
and every run), for experiments with a numeric ``x`` and a ``group`` a line plot
``<out>/<group>.png``, and bars of the others in ``<out>/summary.png``.
"""
import argparse
import csv
import json
import os
import os.path as osp
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METRICS = ('J', 'F', 'J&F')


def slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9.+-]+', '_', name).strip('_')


def final_metrics(log: str) -> dict:
    lines = [ln for ln in log.splitlines() if 'J&F:' in ln]
    if not lines:
        raise RuntimeError('no J&F line in the training log')
    return {k: float(v) for k, v in re.findall(r'\b(J|F|J&F): ([0-9.]+)', lines[-1])}


def run_one(exp: dict, seed: int, out: str, threads: int) -> dict:
    work = osp.join(out, slug(exp['name']), f'seed{seed}')
    result = osp.join(work, 'metrics.json')
    if osp.isfile(result):
        with open(result) as f:
            return json.load(f)
    os.makedirs(work, exist_ok=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, exp['config']),
           '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
           *exp.get('cfg_options', [])]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    print(f'[run] {exp["name"]} seed {seed} -> {work}', flush=True)
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    with open(osp.join(work, 'run.log'), 'w') as f:
        f.write(res.stdout + res.stderr)
    if res.returncode != 0:
        raise RuntimeError(f'{exp["name"]} seed {seed} failed; see {work}/run.log')
    metrics = final_metrics(res.stdout + res.stderr)
    tmp = result + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(metrics, f)
    os.replace(tmp, result)
    print(f'[done] {exp["name"]} seed {seed}: ' +
          '  '.join(f'{k} {metrics[k]:.2f}' for k in METRICS), flush=True)
    return metrics


def summarise(experiments, seeds, runs) -> list:
    rows = []
    for exp in experiments:
        values = np.array([[runs[(exp['name'], s)][k] for k in METRICS] for s in seeds])
        std = values.std(axis=0, ddof=1) if len(seeds) > 1 else np.zeros(len(METRICS))
        rows.append(dict(exp=exp, mean=values.mean(axis=0), std=std, values=values))
    return rows


def write_tables(rows, seeds, out: str, command: str) -> str:
    lines = [f'Mean ± std over seeds {", ".join(map(str, seeds))} (`{command}`)', '',
             '| experiment | J | F | J&F |', '| --- | --- | --- | --- |']
    for r in rows:
        cells = [f'{m:.2f} ± {s:.2f}' for m, s in zip(r['mean'], r['std'])]
        lines.append(f'| {r["exp"]["name"]} | ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table)
    with open(osp.join(out, 'results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['experiment', 'config', 'seed', *METRICS])
        for r in rows:
            writer.writerow([r['exp']['name'], r['exp']['config'], 'mean',
                             *[f'{v:.4f}' for v in r['mean']]])
            writer.writerow([r['exp']['name'], r['exp']['config'], 'std',
                             *[f'{v:.4f}' for v in r['std']]])
            for seed, vals in zip(seeds, r['values']):
                writer.writerow([r['exp']['name'], r['exp']['config'], seed,
                                 *[f'{v:.4f}' for v in vals]])
    return table


def write_plots(rows, out: str) -> list:
    """``summary.png`` (J, F, J&F mean +- std of the experiments without ``x``, as bars) and
    one line plot of J&F per sweep ``group``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    files = []
    groups, plain = {}, []
    for r in rows:
        if 'x' in r['exp'] and 'group' in r['exp']:
            groups.setdefault(r['exp']['group'], []).append(r)
        else:
            plain.append(r)
    if plain:
        fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(plain), 4))
        width = 0.8 / len(METRICS)
        for k, metric in enumerate(METRICS):
            xs = [i + (k - 1) * width for i in range(len(plain))]
            ax.bar(xs, [r['mean'][k] for r in plain], width, yerr=[r['std'][k] for r in plain],
                   capsize=3, label=metric)
        ax.set_xticks(range(len(plain)))
        ax.set_xticklabels([r['exp']['name'] for r in plain], rotation=20, ha='right')
        ax.set_ylabel('% (mean +- std over seeds)')
        ax.grid(axis='y', alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = osp.join(out, 'summary.png')
        fig.savefig(path, dpi=120)
        plt.close(fig)
        files.append(path)
    for group, members in groups.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for series in sorted({m['exp'].get('series', '') for m in members}):
            pts = sorted((m for m in members if m['exp'].get('series', '') == series),
                         key=lambda m: m['exp']['x'])
            xs = [m['exp']['x'] for m in pts]
            ys = [m['mean'][2] for m in pts]
            es = [m['std'][2] for m in pts]
            ax.errorbar(xs, ys, yerr=es, marker='o', capsize=3, label=series or 'J&F')
        ax.set_xlabel(members[0]['exp'].get('xlabel', 'x'))
        ax.set_ylabel('J&F (%)')
        ax.set_title(group)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = osp.join(out, slug(group) + '.png')
        fig.savefig(path, dpi=120)
        plt.close(fig)
        files.append(path)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('study')
    parser.add_argument('--seeds', type=int, nargs='+')
    parser.add_argument('--workers', type=int, default=1,
                        help='runs at once (the cores are shared between them)')
    parser.add_argument('--out')
    args = parser.parse_args()
    study = Config.fromfile(args.study)
    seeds = args.seeds if args.seeds is not None else list(study.get('seeds', [0, 1, 2]))
    experiments = list(study.experiments)
    out = args.out or osp.join('work_dirs', 'studies',
                               osp.splitext(osp.basename(args.study))[0])
    os.makedirs(out, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    # seed-major order: a partly finished study already has every experiment at the first seed
    jobs = [(exp, seed) for seed in seeds for exp in experiments]
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(lambda j: run_one(j[0], j[1], out, threads), jobs))
    runs = {(exp['name'], seed): res for (exp, seed), res in zip(jobs, results)}
    command = 'python tools/run_experiments.py ' + ' '.join(sys.argv[1:])
    rows = summarise(experiments, seeds, runs)
    print(write_tables(rows, seeds, out, command))
    for path in write_plots(rows, out):
        print(f'plot: {path}')


if __name__ == '__main__':
    main()
