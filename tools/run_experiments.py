"""Run a study (configs x seeds), collect J / F / J&F, write mean +- std tables and plots.

    python tools/run_experiments.py configs/studies/synthetic.py [--seeds 0 1 2]
        [--workers 1] [--out work_dirs/studies/<study>] [--results DIR]

A study file defines ``experiments`` (a list of ``dict(name=..., config=..., cfg_options=[...],
group=..., x=...)``), ``seeds`` and optionally ``results_dir`` and ``pseudo_labels``. Every run
trains with ``tools/train.py`` and ``randomness.seed=<seed>`` into ``<out>/<name>/seed<seed>/``
(checkpoints and logs stay there). The results go to ``--results`` (default: the study's
``results_dir``, else ``<out>``): ``results.csv`` (every finished run, and the mean +- sample std
over the seeds finished so far), ``results.md``, for experiments with a numeric ``x`` and a
``group`` a line plot ``<group>.png``, and bars of the others in ``summary.png``. The tables
are rewritten after every finished run, so a study that is stopped keeps what it finished; the
plots are drawn when the study ends (running it again once it is complete only redraws).

Resuming: a run is identified by the hash of its resolved config (with the ``cfg_options``,
without the seed) and its seed. A run found in ``results.csv`` under that key, or with a
``metrics.json`` in its work directory, is not trained again, so a study whose results directory
is committed continues on a fresh machine where it stopped; two experiments that resolve to the
same config (a sweep point equal to another study row) share their runs; ``reuse_results =
['docs/results/<other study>']`` in a study also takes the runs recorded by other studies, and
their pseudo-label rows of the protocols named as this study's (a protocol name must then mean
the same ``args`` in both studies).

``pseudo_labels = [dict(name=..., seeds=[0], args=[...]), ...]`` in the study also runs
``tools/make_pseudo_labels.py`` (with ``args``) on the final checkpoint of those seeds, once per
protocol, and keeps its ``metrics.json`` entries (the fixed-threshold J / F, the sweep-best J and
its threshold, F at 0.25, the CRF variants) in ``pseudo_labels.csv`` (every run) and
``pseudo_labels.md`` (mean +- std over the seeds of each experiment, protocol and entry), for
each sweep ``group`` and protocol a plot ``<group>_<protocol>.png`` of the sweep-best J and the
F at background 0.25 against ``x``; a run whose pseudo-labels are missing there and whose
checkpoint is gone is trained again for them.

An experiment's own ``seeds`` narrow the study's; ``priority=1`` runs it after those without
(seed-major within each priority). ``dict(name=..., pipeline='configs/pipelines/X.py',
cfg_options=[...], to=STAGE, final='stage[/entry]')`` in ``experiments`` runs a whole pipeline instead (``tools/run_pipeline.py`` with
``train_cfg_options.randomness.seed=<seed>`` and the ``cfg_options`` on the pipeline config,
``--to`` when ``to`` is given) in ``<out>/<name>/seed<seed>/``: its key is the hash of every
stage's resolved config (base files merged, the options applied, without the seed), its J / F /
J&F in ``results.csv`` those of its last scored stage (``final='stage'`` names another), and
every scored entry of every stage (the CAM training's validation, the pseudo-label tool's
``metrics.json`` entries, the random walk's, the tests') goes to ``stages.csv`` (every run),
``stages.md`` (mean +- std per experiment, stage and entry) and ``stages.png`` (J and F of one
entry per stage, ``STAGE_PLOT_ENTRIES``). A killed pipeline run continues where it stopped (the
pipeline tool skips its finished stages). ``baseline = '<experiment name>'`` and
``compare_stages = ['stage/entry', ...]`` in the study add ``differences.md`` / ``.csv``: each
other experiment's difference from the baseline (or from its own ``baseline=...``) at those
entries, in points and in run-to-run standard deviations (the pooled std of the two).
``--collect`` starts nothing: it tabulates the
recorded runs and the finished ones of the work directories (their ``metrics.json``).

``--rekey`` first gives the recorded runs the keys of the current configs, matched by experiment
name, for a change in how the configs are written that trains exactly the same (for example
the ``add_on`` interface, whose losses ``tests/test_models/test_add_on_parity.py`` shows equal):
otherwise such a change would retrain every run.
"""
import argparse
import contextlib
import csv
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from mmengine.config import Config, DictAction

from mmseg_hfpl.engine.cfg_options import merge_cfg_options
from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.fileio import atomic_path

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
METRICS = ('J', 'F', 'J&F')


def slug(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9.+-]+', '_', name).strip('_')


def final_metrics(log: str) -> dict:
    lines = [ln for ln in log.splitlines() if 'J&F:' in ln]
    if not lines:
        raise RuntimeError('no J&F line in the training log')
    return {k: float(v) for k, v in re.findall(r'\b(J|F|J&F): ([0-9.]+)', lines[-1])}


def resolved_config(exp: dict) -> Config:
    """The experiment's config as ``tools/train.py`` runs it: base files merged, ``cfg_options``
    applied (without the seed)."""
    cfg = Config.fromfile(osp.join(ROOT, exp['config']))
    options = exp.get('cfg_options', [])
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        merge_cfg_options(cfg, parser.parse_args(['--o', *options]).o,
                          f"cfg_options of {exp.get('name', exp['config'])}")
    return cfg


def pipeline_plan(exp: dict):
    """(pipeline config, its stages up to ``exp['to']``, their StagePlan) of a pipeline
    experiment, the ``cfg_options`` applied; the stage configs are read from the repository."""
    from mmseg_hfpl.pipeline.stages import (StagePlan, find_stage, load_pipeline,
                                            parse_option_strings)
    with contextlib.chdir(ROOT):  # stage configs are named relative to the repository
        pcfg, stages = load_pipeline(osp.join(ROOT, exp['pipeline']),
                                     parse_option_strings(list(exp.get('cfg_options', []))))
        last = find_stage(stages, exp.get('to'), f"to of {exp['name']}")
        stages = stages if last is None else stages[:last + 1]
        plan = StagePlan(pcfg, stages, work_dir='')
        for stage in stages:
            plan.config(stage)  # resolved here, where the relative paths hold
    return pcfg, stages, plan


def run_key(exp: dict) -> str:
    """Hash of the experiment's resolved config (base files merged, ``cfg_options`` applied);
    of a pipeline experiment, of every stage it runs (kind, tool options, resolved config)."""
    if 'pipeline' in exp:
        from mmseg_hfpl.pipeline.stages import NOT_FINGERPRINTED
        _, stages, plan = pipeline_plan(exp)
        text = json.dumps([dict(name=s.name, kind=s.kind, model=s.model, inputs=s.inputs,
                                args={k: v for k, v in s.args.items()
                                      if k not in NOT_FINGERPRINTED},
                                config=plan.config_text(s)) for s in stages],
                          sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:12]
    return hashlib.sha1(resolved_config(exp).pretty_text.encode()).hexdigest()[:12]


def read_csv(path: str) -> list:
    if not osp.isfile(path):
        return []
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def previous_runs(results: str) -> dict:
    """``{(key, seed): metrics}`` of the runs recorded in ``results.csv``."""
    runs = {}
    for row in read_csv(osp.join(results, 'results.csv')):
        if row.get('key') and row['seed'].isdigit():
            runs[(row['key'], int(row['seed']))] = {k: float(row[k]) for k in METRICS}
    return runs


def previous_pseudo_labels(results: str) -> dict:
    """``{(key, seed, protocol): [rows]}`` of ``pseudo_labels.csv``; experiments that share a
    key (the same resolved config) are listed under each name there, so one name's rows."""
    out, names = {}, {}
    for row in read_csv(osp.join(results, 'pseudo_labels.csv')):
        key = (row['key'], int(row['seed']), row['protocol'])
        if names.setdefault(key, row['experiment']) == row['experiment']:
            out.setdefault(key, []).append(row)
    return out


def rekey(results: str, experiments: list) -> dict:
    """Give the runs recorded in ``results`` the current keys of the study's experiments, matched
    by experiment name (``--rekey``): for a change of the configs' text that provably trains
    the same (a refactor of how a config is written); every other change must retrain.
    Returns ``{old key: new key}`` of the keys that changed."""
    current = {exp['name']: exp['key'] for exp in experiments}
    mapping = {}
    for row in read_csv(osp.join(results, 'results.csv')):
        new = current.get(row['experiment'])
        if new is not None and row.get('key') and row['key'] != new:
            if mapping.get(row['key'], new) != new:
                raise ValueError(f"--rekey: key {row['key']} of {results}/results.csv maps to "
                                 f"both {mapping[row['key']]} and {new}")
            mapping[row['key']] = new
    for name in ('results.csv', 'pseudo_labels.csv'):
        path = osp.join(results, name)
        rows = read_csv(path)
        if not rows or not mapping:
            continue
        for row in rows:
            row['key'] = mapping.get(row['key'], row['key'])
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return mapping


def pseudo_label_protocols(study) -> list:
    """The study's ``pseudo_labels``: a list of ``dict(name, seeds, args)`` (one dict alone is
    the protocol ``'pseudo-labels'``)."""
    cfg = study.get('pseudo_labels') or []
    cfg = [cfg] if isinstance(cfg, dict) else list(cfg)
    protocols = [dict(name=p.get('name', 'pseudo-labels'), seeds=set(p.get('seeds', [])),
                      args=list(p.get('args', []))) for p in cfg]
    names = [p['name'] for p in protocols]
    if len(set(names)) != len(names):
        raise ValueError(f'pseudo_labels: protocol names must differ, got {names}')
    return protocols


def last_checkpoint(work: str):
    path = osp.join(work, 'last_checkpoint')
    if osp.isfile(path):
        with open(path) as f:
            ckpt = f.read().strip()
        if osp.isfile(ckpt):
            return ckpt
    return None


def pseudo_label_rows(metrics: dict) -> list:
    """One row per entry of ``make_pseudo_labels.py``'s ``metrics.json`` that carries J or F."""
    rows = []
    for name, entry in metrics.items():
        if not isinstance(entry, dict) or not ({'J', 'F'} & set(entry)):
            continue
        rows.append(dict(variant=name, threshold=entry.get('threshold', ''),
                         **{k: f'{entry[k]:.4f}' if k in entry else '' for k in METRICS},
                         how=entry.get('how', '')))
    return rows


def run_tool(cmd: list, log: str, threads: int, what: str) -> str:
    """Run ``cmd`` with ``threads`` OpenMP / MKL threads, keep its output in ``log``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    os.makedirs(osp.dirname(log) or '.', exist_ok=True)  # a tool that failed early made none
    with open(log, 'w') as f:
        f.write(res.stdout + res.stderr)
    if res.returncode != 0:
        raise RuntimeError(f'{what} failed; see {log}')
    return res.stdout + res.stderr


def train(exp: dict, seed: int, work: str, threads: int) -> dict:
    os.makedirs(work, exist_ok=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'), osp.join(ROOT, exp['config']),
           '--work-dir', work, '--cfg-options', f'randomness.seed={seed}',
           *exp.get('cfg_options', [])]
    print(f'[run] {exp["name"]} seed {seed} -> {work}', flush=True)
    metrics = final_metrics(run_tool(cmd, osp.join(work, 'run.log'), threads,
                                     f'{exp["name"]} seed {seed}'))
    result = osp.join(work, 'metrics.json')
    with atomic_path(result) as tmp, open(tmp, 'w') as f:
        json.dump(metrics, f)
    print(f'[done] {exp["name"]} seed {seed}: {metric_text(metrics)}', flush=True)
    return metrics


STAGE_FIELDS = ['experiment', 'key', 'seed', 'stage', 'entry', 'how', 'threshold', *METRICS]


def pipeline_stage_rows(state: dict) -> list:
    """One row per scored entry of every finished stage of a pipeline's ``pipeline.json``, in
    stage order: stage, entry, how it was scored, threshold, J, F, J&F."""
    rows = []
    for name in state.get('order') or list(state['stages']):
        record = state['stages'].get(name) or {}
        for entry, row in (record.get('metrics') or {}).items():
            rows.append(dict(stage=name, entry=entry, how=row.get('how', ''),
                             threshold=row.get('threshold', ''),
                             **{k: f'{row[k]:.4f}' if k in row else '' for k in METRICS}))
    return rows


def headline(rows: list, exp: dict) -> dict:
    """J / F / J&F of a pipeline run: the entry ``exp['final']`` (``'stage'``: its first
    entry, or ``'stage/entry'``), default the last stage with scores."""
    final = exp.get('final') or [r for r in rows if r['J'] != ''][-1]['stage']
    stage, _, entry = final.partition('/')
    row = next((r for r in rows if r['stage'] == stage and entry in ('', r['entry'])), None)
    if row is None:
        raise RuntimeError(f"{exp['name']}: the pipeline recorded no scores {final!r}")
    return {k: float(row[k]) if row[k] != '' else float('nan') for k in METRICS}


def run_pipeline(exp: dict, seed: int, work: str, threads: int) -> tuple:
    """``tools/run_pipeline.py`` of a pipeline experiment at ``seed``; returns (J / F / J&F of
    its final stage, the rows of every stage), also kept in ``<work>/metrics.json``."""
    os.makedirs(work, exist_ok=True)
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'run_pipeline.py'), exp['pipeline'],
           '--work-dir', osp.abspath(work)] + (['--to', exp['to']] if exp.get('to') else []) + [
           '--cfg-options', f'train_cfg_options.randomness.seed={seed}',
           *exp.get('cfg_options', [])]
    print(f'[run] {exp["name"]} seed {seed} -> {work}', flush=True)
    run_tool(cmd, osp.join(work, 'run.log'), threads, f'{exp["name"]} seed {seed}')
    with open(osp.join(work, 'pipeline.json')) as f:
        rows = pipeline_stage_rows(json.load(f))
    metrics = headline(rows, exp)
    with atomic_path(osp.join(work, 'metrics.json')) as tmp, open(tmp, 'w') as f:
        json.dump(dict(metrics, stages=rows), f)
    print(f'[done] {exp["name"]} seed {seed}: {metric_text(metrics)}', flush=True)
    return metrics, rows


def previous_stage_rows(results: str) -> dict:
    """``{(key, seed): [rows]}`` of ``stages.csv`` (one experiment's rows per key)."""
    out, names = {}, {}
    for row in read_csv(osp.join(results, 'stages.csv')):
        key = (row['key'], int(row['seed']))
        if names.setdefault(key, row['experiment']) == row['experiment']:
            out.setdefault(key, []).append(
                {k: row[k] for k in STAGE_FIELDS if k not in ('experiment', 'key', 'seed')})
    return out


def write_stage_tables(experiments, seeds, stage_rows: dict, out: str, command: str) -> list:
    """``stages.csv`` (every pipeline run) and ``stages.md`` (mean +- std over the seeds per
    experiment, stage and entry); returns the summary rows."""
    records = [dict(row, experiment=exp['name'], key=exp['key'], seed=seed)
               for exp in experiments for seed in seeds
               for row in stage_rows.get((exp['key'], seed), [])]
    if not records:
        return []
    with open(osp.join(out, 'stages.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=STAGE_FIELDS, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(records)
    groups = {}
    for r in records:
        groups.setdefault((r['experiment'], r['stage'], r['entry']), []).append(r)
    summary = []
    lines = [f'Every scored stage of the pipeline runs, mean ± std over the seeds (`{command}`)',
             '', '| experiment | stage | entry | how | seeds | J | F | J&F |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for (name, stage, entry), rows in groups.items():
        cells, stats, by_seed = [], {}, {}
        for k in METRICS:
            seeded = {r['seed']: float(r[k]) for r in rows if r[k] not in ('', None)}
            if seeded:
                values = list(seeded.values())
                std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
                stats[k], by_seed[k] = (float(np.mean(values)), std), seeded
                cells.append(f'{stats[k][0]:.2f} ± {std:.2f}')
            else:
                cells.append('—')
        summary.append(dict(experiment=name, stage=stage, entry=entry, n=len(rows), **stats,
                            by_seed=by_seed))
        how = rows[0]['how'] + (f" (threshold {float(rows[0]['threshold']):.2f})"
                                if rows[0]['threshold'] not in ('', None) else '')
        lines.append(f'| {name} | {stage} | {entry} | {how} | {len(rows)} | ' +
                     ' | '.join(cells) + ' |')
    with open(osp.join(out, 'stages.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return summary


def write_stage_differences(summary: list, baselines: dict, entries: list, out: str,
                            command: str) -> list:
    """``differences.md`` / ``differences.csv``: each experiment's difference from its baseline
    (``baselines``: {experiment: the experiment it is compared with}) at each of ``entries``
    (``'stage/entry'``, in that order), in points of J and F and in run-to-run standard
    deviations: the pooled sample std of the two experiments' seeds, sqrt((s_a^2 + s_b^2) / 2)
    (``—`` until both have two seeds, or when it is 0); and seed by seed, the difference at each
    seed both ran (``by_seed`` of the summary rows; a seed gives every experiment the same
    initial weights and data order, so the run-to-run spread they share cancels there), with
    how many of them are positive. Returns the rows."""
    stats = {(r['experiment'], f"{r['stage']}/{r['entry']}"): r for r in summary}
    rows = []
    for entry in entries:
        for name in dict.fromkeys(r['experiment'] for r in summary):
            base, other = stats.get((baselines.get(name), entry)), stats.get((name, entry))
            if base is None or other is None or name == baselines.get(name):
                continue
            row = dict(experiment=name, baseline=baselines[name], entry=entry, n=other['n'],
                       n_baseline=base['n'])
            for k in ('J', 'F'):
                if k not in other or k not in base:
                    continue
                (ma, sa), (mb, sb) = other[k], base[k]
                pooled = float(np.sqrt((sa ** 2 + sb ** 2) / 2))
                enough = min(other['n'], base['n']) > 1 and pooled > 0
                row[f'd{k}'] = ma - mb
                row[f'd{k}_std'] = (ma - mb) / pooled if enough else float('nan')
                mine = other.get('by_seed', {}).get(k, {})
                theirs = base.get('by_seed', {}).get(k, {})
                row[f'd{k}_seeds'] = {seed: mine[seed] - theirs[seed] for seed in sorted(mine)
                                      if seed in theirs}
            rows.append(row)
    if not rows:
        return []
    fields = ['experiment', 'baseline', 'entry', 'n', 'n_baseline', 'dJ', 'dJ_std', 'dJ_seeds',
              'dF', 'dF_std', 'dF_seeds']

    def csv_value(value):
        if isinstance(value, dict):  # per seed: 'seed:difference' pairs
            return ' '.join(f'{seed}:{d:.4f}' for seed, d in value.items())
        return f'{value:.4f}' if isinstance(value, float) else value

    with open(osp.join(out, 'differences.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows([{k: csv_value(v) for k, v in r.items()} for r in rows])

    def cell(row, key, fmt):
        value = row.get(key)
        return '—' if value is None or value != value else format(value, fmt)

    def seeds_cell(row, key):
        diffs = list(row.get(key, {}).values())
        if not diffs:
            return '—'
        higher = sum(d > 0 for d in diffs)
        return ', '.join(f'{d:+.1f}' for d in diffs) + f' ({higher}/{len(diffs)} higher)'

    lines = ['Difference from the baseline at each stage: means over the seeds, in points and '
             'in run-to-run standard deviations (σ: the pooled sample std of the two '
             "experiments' seeds), and seed by seed (the same seed: the same initial weights "
             f'and data order) (`{command}`)', '',
             '| experiment | baseline | stage / entry | seeds | ΔJ | ΔJ / σ | ΔJ by seed | '
             'ΔF | ΔF / σ | ΔF by seed |',
             '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    for r in rows:
        lines.append(f"| {r['experiment']} | {r['baseline']} | {r['entry']} | "
                     f"{r['n']} vs {r['n_baseline']} | "
                     f"{cell(r, 'dJ', '+.2f')} | {cell(r, 'dJ_std', '+.1f')} | "
                     f"{seeds_cell(r, 'dJ_seeds')} | "
                     f"{cell(r, 'dF', '+.2f')} | {cell(r, 'dF_std', '+.1f')} | "
                     f"{seeds_cell(r, 'dF_seeds')} |")
    with open(osp.join(out, 'differences.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return rows


#: the entry of each kind of stage drawn in ``stages.png`` (the others are in ``stages.md``)
STAGE_PLOT_ENTRIES = ('train', 'cam_sweep_best', 'random_walk', 'test')


def write_stage_plot(summary: list, out: str) -> list:
    """``stages.png``: J and F (mean +- std) of each pipeline experiment along its stages, one
    entry per stage (``STAGE_PLOT_ENTRIES``: the CAM training's validation, the sweep-best CAM
    labels, the random walk, the tests)."""
    points = [r for r in summary if r['entry'] in STAGE_PLOT_ENTRIES and 'J' in r]
    if not points:
        return []
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    stages = list(dict.fromkeys(r['stage'] for r in points))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, metric in zip(axes, ('J', 'F')):
        for name in dict.fromkeys(r['experiment'] for r in points):
            pts = [r for r in points if r['experiment'] == name and metric in r]
            ax.errorbar([stages.index(r['stage']) for r in pts], [r[metric][0] for r in pts],
                        yerr=[r[metric][1] for r in pts], marker='o', capsize=3, label=name)
        ax.set_xticks(range(len(stages)))
        ax.set_xticklabels(stages, rotation=20, ha='right')
        ax.set_ylabel(f'{metric} (%, mean +- std over seeds)')
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = osp.join(out, 'stages.png')
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def make_pseudo_labels(exp: dict, seed: int, work: str, protocol: dict, threads: int) -> list:
    out = osp.join(work, 'pseudo_labels', slug(protocol['name']))
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'make_pseudo_labels.py'),
           osp.join(work, osp.basename(exp['config'])), last_checkpoint(work), '--out', out,
           '--overwrite', *protocol['args']]
    print(f'[pseudo-labels] {exp["name"]} seed {seed} ({protocol["name"]}) -> {out}', flush=True)
    run_tool(cmd, out + '.log', threads,
             f'pseudo-labels of {exp["name"]} seed {seed} ({protocol["name"]})')
    with open(osp.join(out, 'metrics.json')) as f:
        return pseudo_label_rows(json.load(f))


def metric_text(metrics: dict) -> str:
    """``J 50.00  F 20.00  J&F 35.00``, leaving out a metric the run's final entry has not (a
    CAM-label sweep scores J only)."""
    return '  '.join(f'{k} {metrics[k]:.2f}' for k in METRICS if metrics[k] == metrics[k])


def summarise(experiments, seeds, runs) -> list:
    """Mean +- sample std over the seeds finished so far (``n`` of them)."""
    rows = []
    for exp in experiments:
        done = [s for s in seeds if (exp['key'], s) in runs and s in exp.get('seeds', seeds)]
        if not done:
            continue
        values = np.array([[runs[(exp['key'], s)][k] for k in METRICS] for s in done])
        std = values.std(axis=0, ddof=1) if len(done) > 1 else np.zeros(len(METRICS))
        rows.append(dict(exp=exp, mean=values.mean(axis=0), std=std, values=values, seeds=done))
    return rows


def write_tables(rows, seeds, out: str, command: str) -> str:
    """``results.md`` / ``results.csv``; ``n`` (each row's seeds) is shown while a row lacks
    some of its seeds (an experiment's own ``seeds`` narrow the study's), or when the rows run
    different numbers of seeds."""
    planned = [len([s for s in seeds if s in r['exp'].get('seeds', seeds)]) for r in rows]
    partial = any(len(r['seeds']) < n for r, n in zip(rows, planned))
    show_n = partial or len({len(r['seeds']) for r in rows}) > 1
    note = (' — partial: `n` seeds finished so far' if partial else
            ' (`n`: the seeds each experiment runs)' if show_n else '')
    lines = [f'Mean ± std over seeds {", ".join(map(str, seeds))} (`{command}`)' + note, '',
             '| experiment | J | F | J&F |' + (' n |' if show_n else ''),
             '| --- | --- | --- | --- |' + (' --- |' if show_n else '')]
    for r in rows:
        cells = [f'{m:.2f} ± {s:.2f}' if m == m else '—' for m, s in zip(r['mean'], r['std'])]
        lines.append(f'| {r["exp"]["name"]} | ' + ' | '.join(cells) + ' |' +
                     (f' {len(r["seeds"])} |' if show_n else ''))
    table = '\n'.join(lines) + '\n'
    with open(osp.join(out, 'results.md'), 'w') as f:
        f.write(table)
    with open(osp.join(out, 'results.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['experiment', 'config', 'key', 'seed', *METRICS])
        for r in rows:
            exp = r['exp']
            config = exp.get('config') or exp['pipeline']
            writer.writerow([exp['name'], config, exp['key'], 'mean',
                             *[f'{v:.4f}' for v in r['mean']]])
            writer.writerow([exp['name'], config, exp['key'], 'std',
                             *[f'{v:.4f}' for v in r['std']]])
            for seed, vals in zip(r['seeds'], r['values']):
                writer.writerow([exp['name'], config, exp['key'], seed,
                                 *[f'{v:.4f}' for v in vals]])
    return table


def pseudo_label_records(experiments, seeds, pls: dict) -> list:
    """The pseudo-label rows of ``experiments`` at ``seeds``, each with its experiment's name,
    key, seed and protocol."""
    records = []
    for exp in experiments:
        for (key, seed, protocol), rows in sorted(pls.items()):
            if key == exp['key'] and seed in seeds:
                records += [dict(row, experiment=exp['name'], key=key, seed=seed,
                                 protocol=protocol) for row in rows]
    return records


def write_pseudo_label_tables(experiments, seeds, pls: dict, out: str, command: str) -> None:
    """``pseudo_labels.csv`` (every run) and ``pseudo_labels.md``: per protocol, experiment and
    ``metrics.json`` entry, J / F / J&F (and the threshold) as mean +- std over the seeds."""
    fields = ['experiment', 'key', 'seed', 'protocol', 'variant', 'threshold', *METRICS, 'how']
    records = pseudo_label_records(experiments, seeds, pls)
    if not records:
        return
    with open(osp.join(out, 'pseudo_labels.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(records)

    def stat(values):
        values = [float(v) for v in values if v not in ('', None)]
        if not values:
            return ''
        std = np.std(values, ddof=1) if len(values) > 1 else 0.0
        return f'{np.mean(values):.2f} ± {std:.2f}'

    lines = [f'`make_pseudo_labels.py` on the final checkpoints, mean ± std over the seeds '
             f'(`{command}`)', '',
             '| protocol | experiment | entry | seeds | threshold | J | F | J&F |',
             '| --- | --- | --- | --- | --- | --- | --- | --- |']
    groups = {}
    for r in records:
        groups.setdefault((r['protocol'], r['experiment'], r['variant']), []).append(r)
    order = {e['name']: i for i, e in enumerate(experiments)}
    for (protocol, name, variant), rows in sorted(
            groups.items(), key=lambda g: (g[0][0], order[g[0][1]])):
        cells = [stat(r.get(k) for r in rows) for k in ('threshold', *METRICS)]
        lines.append(f'| {protocol} | {name} | {variant} | {len(rows)} | ' +
                     ' | '.join(cells) + ' |')
    with open(osp.join(out, 'pseudo_labels.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


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


# the panels of a sweep's pseudo-label plot: (metrics.json entry, metric, panel title)
PROTOCOL_PANELS = (('cam_sweep_best', 'J', 'sweep-best J'),
                   ('cam_F_bg0.25', 'F', 'F at background 0.25'))


def protocol_sweep_points(experiments, seeds, pls: dict) -> dict:
    """``{(group, protocol): {(entry, metric): {series: [(x, mean, std), ...]}}}`` for the
    ``PROTOCOL_PANELS`` of the sweep experiments (with ``group`` and ``x``), mean +- sample std
    over the seeds that have the entry, points in increasing ``x``."""
    sweeps = [e for e in experiments if 'group' in e and 'x' in e]
    values = {}
    for r in pseudo_label_records(sweeps, seeds, pls):
        for entry, metric, _ in PROTOCOL_PANELS:
            if r['variant'] == entry and r.get(metric) not in ('', None):
                values.setdefault((r['protocol'], r['experiment'], entry, metric),
                                  []).append(float(r[metric]))
    points = {}
    for (protocol, name, entry, metric), vals in values.items():
        exp = next(e for e in sweeps if e['name'] == name)
        series = points.setdefault((exp['group'], protocol), {}).setdefault(
            (entry, metric), {}).setdefault(exp.get('series', ''), [])
        series.append((exp['x'], float(np.mean(vals)),
                       float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0))
    for panels in points.values():
        for lines in panels.values():
            for pts in lines.values():
                pts.sort()
    return points


def write_protocol_plots(experiments, seeds, pls: dict, out: str) -> list:
    """``<group>_<protocol>.png`` per sweep ``group`` and pseudo-label protocol: the
    ``PROTOCOL_PANELS`` against ``x`` (``protocol_sweep_points``), one line per ``series``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    xlabels = {e['group']: e.get('xlabel', 'x') for e in experiments if 'group' in e}
    files = []
    for (group, protocol), panels in protocol_sweep_points(experiments, seeds, pls).items():
        fig, axes = plt.subplots(1, len(PROTOCOL_PANELS), figsize=(5 * len(PROTOCOL_PANELS), 4))
        for ax, (entry, metric, title) in zip(axes, PROTOCOL_PANELS):
            for series, pts in sorted(panels.get((entry, metric), {}).items()):
                xs, ys, es = zip(*pts)
                ax.errorbar(xs, ys, yerr=es, marker='o', capsize=3, label=series or metric)
            ax.set_xlabel(xlabels[group])
            ax.set_ylabel(f'{metric} (%)')
            ax.set_title(title)
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        fig.suptitle(f'{group}: {protocol} pseudo-labels, mean +- std over seeds')
        fig.tight_layout()
        path = osp.join(out, f'{slug(group)}_{slug(protocol)}.png')
        fig.savefig(path, dpi=120)
        plt.close(fig)
        files.append(path)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('study')
    parser.add_argument('--seeds', type=int, nargs='+')
    parser.add_argument('--workers', type=int, default=1,
                        help='runs at once (the cores are shared between them)')
    parser.add_argument('--out', help='work directories (default: work_dirs/studies/<study>)')
    parser.add_argument('--results', help='tables, plots and the record of finished runs '
                        "(default: the study's results_dir, else --out)")
    parser.add_argument('--collect', action='store_true',
                        help='start nothing: tabulate the recorded runs and those whose work '
                        'directory holds the metrics.json of a finished run')
    parser.add_argument('--rekey', action='store_true',
                        help='re-identify the recorded runs of this study by experiment name '
                        'with the current config keys, then continue (only after a change of '
                        'how the configs are written that trains exactly the same)')
    args = parser.parse_args()
    study = Config.fromfile(args.study)
    seeds = args.seeds if args.seeds is not None else list(study.get('seeds', [0, 1, 2]))
    experiments = [dict(exp) for exp in study.experiments]
    out = args.out or osp.join('work_dirs', 'studies',
                               osp.splitext(osp.basename(args.study))[0])
    results = args.results or study.get('results_dir') or out
    os.makedirs(out, exist_ok=True)
    os.makedirs(results, exist_ok=True)
    for exp in experiments:
        exp['key'] = run_key(exp)
    protocols = pseudo_label_protocols(study)
    if args.rekey:
        for old, new in rekey(results, experiments).items():
            print(f'[rekey] {old} -> {new}', flush=True)
    runs, pls = previous_runs(results), previous_pseudo_labels(results)
    stage_rows = previous_stage_rows(results)
    names = {p['name'] for p in protocols}
    for other in study.get('reuse_results', []):
        runs = {**previous_runs(osp.join(ROOT, other)), **runs}
        pls = {**{k: v for k, v in previous_pseudo_labels(osp.join(ROOT, other)).items()
                  if k[2] in names}, **pls}
    command = 'python tools/run_experiments.py ' + ' '.join(sys.argv[1:])
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    lock = threading.Lock()

    def record():
        rows = summarise(experiments, seeds, runs)
        table = write_tables(rows, seeds, results, command)
        write_pseudo_label_tables(experiments, seeds, pls, results, command)
        summary = write_stage_tables(experiments, seeds, stage_rows, results, command)
        if study.get('baseline'):
            baselines = {e['name']: e.get('baseline', study.baseline) for e in experiments}
            write_stage_differences(summary, baselines, study.get('compare_stages', []),
                                    results, command)
        return rows, table, summary

    def job(exp, seed):
        key = (exp['key'], seed)
        work = osp.join(out, slug(exp['name']), f'seed{seed}')
        result = osp.join(work, 'metrics.json')
        todo = [p for p in protocols if seed in p['seeds'] and (*key, p['name']) not in pls]
        if 'pipeline' in exp:
            if osp.isfile(result) and (key not in runs or key not in stage_rows):
                with open(result) as f:
                    done = json.load(f)
                runs[key] = {k: done[k] for k in METRICS}
                stage_rows[key] = done['stages']
            if (key not in runs or key not in stage_rows) and not args.collect:
                metrics, rows = run_pipeline(exp, seed, work, threads)
                with lock:
                    runs[key], stage_rows[key] = metrics, rows
                    record()
            return
        if key not in runs and osp.isfile(result):
            with open(result) as f:
                runs[key] = json.load(f)
        if args.collect:
            return
        if key not in runs or (todo and last_checkpoint(work) is None):
            metrics = train(exp, seed, work, threads)
            with lock:
                if key in runs and runs[key] != metrics:
                    print(f'[warn] {exp["name"]} seed {seed}: the retrained run gives {metrics}'
                          f', the record {runs[key]}', flush=True)
                runs[key] = metrics
                record()
        for protocol in todo:
            rows = make_pseudo_labels(exp, seed, work, protocol, threads)
            with lock:
                pls[(*key, protocol['name'])] = rows
                record()

    # seed-major order: a partly finished study already has every experiment at the first
    # seed; one job per distinct (config, seed)
    # (an experiment's own ``seeds`` narrow the study's; ``priority`` > 0 runs it after the
    # others, at every seed)
    jobs, seen = [], set()
    for priority in sorted({exp.get('priority', 0) for exp in experiments}):
        for seed in seeds:
            for exp in experiments:
                if exp.get('priority', 0) != priority or seed not in exp.get('seeds', seeds):
                    continue
                if (exp['key'], seed) not in seen:
                    seen.add((exp['key'], seed))
                    jobs.append((exp, seed))
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for future in [pool.submit(job, exp, seed) for exp, seed in jobs]:
            future.result()
    rows, table, summary = record()
    print(table)
    for path in (write_plots(rows, results) + write_protocol_plots(experiments, seeds, pls,
                                                                      results)
                 + write_stage_plot(summary, results)):
        print(f'plot: {path}')


if __name__ == '__main__':
    skip_exit_collection()
    main()
