import argparse
import csv
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config, DictAction
from mmseg.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDIES = sorted(glob.glob(os.path.join(ROOT, 'configs', 'studies', '*.py')))


@pytest.fixture(scope='module')
def runner():
    """``tools/run_experiments.py`` as a module."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'run_experiments', os.path.join(ROOT, 'tools', 'run_experiments.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runner_tables_plots_resume_and_determinism(synthetic_root, tmp_path):
    data = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]
    study = tmp_path / 'study.py'
    study.write_text(
        'seeds = [0, 1]\n'
        'experiments = [\n'
        f"    dict(name='lambda 0', config='tests/data/tiny_cam.py', group='lambda sweep',\n"
        f"         x=0.0, xlabel='lambda', cfg_options={data + ['model.decode_head.add_on.isl.lam=0.0']!r}),\n"
        f"    dict(name='lambda 0.2', config='tests/data/tiny_cam.py', group='lambda sweep',\n"
        f"         x=0.2, xlabel='lambda', cfg_options={data!r}),\n"
        # the same resolved config under another name: shares the runs of 'lambda 0.2'
        f"    dict(name='default', config='tests/data/tiny_cam.py', cfg_options={data!r}),\n"
        ']\n'
        "pseudo_labels = [dict(name='single scale', seeds=[0], args=['--scales', '1.0', "
        "'--no-flip'])]\n")

    def run(*args):
        res = subprocess.run([sys.executable, 'tools/run_experiments.py', str(study), *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout

    out = tmp_path / 'out'
    first = run('--out', str(out))
    assert first.count('[run]') == 4 and first.count('[pseudo-labels]') == 2
    table = (out / 'results.md').read_text()
    assert '| lambda 0 |' in table and '| lambda 0.2 |' in table and '±' in table
    rows = list(csv.DictReader(open(out / 'results.csv')))
    runs = [r for r in rows if r['seed'] in ('0', '1')]
    assert len(runs) == 6
    shared = [(r['key'], r['J']) for r in runs if r['experiment'] in ('lambda 0.2', 'default')]
    assert len(set(shared)) == 2  # one key, the same numbers at both seeds
    # the seed-0 pseudo-labels: make_pseudo_labels' own metrics.json, row by row
    pls = list(csv.DictReader(open(out / 'pseudo_labels.csv')))
    made = json.load(open(out / 'lambda_0' / 'seed0' / 'pseudo_labels' / 'single_scale' /
                          'metrics.json'))
    cam = next(r for r in pls if r['experiment'] == 'lambda 0' and r['variant'] == 'cam')
    best = next(r for r in pls if r['experiment'] == 'lambda 0'
                and r['variant'] == 'cam_sweep_best')
    assert abs(float(cam['J']) - made['cam']['J']) < 1e-4
    assert abs(float(best['threshold']) - made['cam_sweep_best']['threshold']) < 1e-9
    assert float(best['J']) >= float(cam['J']) - 1e-4
    assert {r['protocol'] for r in pls} == {'single scale'}
    assert f'| single scale | lambda 0 | cam | 1 | {made["cam"]["threshold"]:.2f} ± 0.00 | ' \
        f'{made["cam"]["J"]:.2f} ± 0.00 |' in (out / 'pseudo_labels.md').read_text()
    mean = next(r for r in rows if r['experiment'] == 'lambda 0' and r['seed'] == 'mean')
    per_seed = [float(r['J']) for r in runs if r['experiment'] == 'lambda 0']
    assert abs(float(mean['J']) - sum(per_seed) / 2) < 1e-3
    assert (out / 'lambda_sweep.png').stat().st_size > 0
    # a rerun reuses the finished runs and rebuilds the same table
    assert '[run]' not in run('--out', str(out))
    assert (out / 'results.md').read_text().splitlines()[2:] == table.splitlines()[2:]
    # ... and the same pseudo-label rows (those of a shared key not doubled on reading back)
    assert list(csv.DictReader(open(out / 'pseudo_labels.csv'))) == pls
    # on a fresh machine only the results directory survives: nothing is trained again
    results = tmp_path / 'committed'
    shutil.copytree(out, results, ignore=shutil.ignore_patterns('lambda*', 'default'))
    resumed = run('--out', str(tmp_path / 'fresh'), '--results', str(results))
    assert '[run]' not in resumed and '[pseudo-labels]' not in resumed
    assert (results / 'results.md').read_text().splitlines()[2:] == table.splitlines()[2:]
    # another study whose point equals a recorded run takes its result and its pseudo-labels
    # (same protocol name) from reuse_results: nothing is trained or labelled again
    sweep = tmp_path / 'sweep.py'
    sweep.write_text(
        'seeds = [0]\n'
        f'reuse_results = [{str(results)!r}]\n'
        f"experiments = [dict(name='lambda 0.2 again', config='tests/data/tiny_cam.py', "
        f"cfg_options={data!r})]\n"
        "pseudo_labels = [dict(name='single scale', seeds=[0], args=['--scales', '1.0', "
        "'--no-flip'])]\n")
    res = subprocess.run([sys.executable, 'tools/run_experiments.py', str(sweep), '--out',
                          str(tmp_path / 'sweep_out')], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert '[run]' not in res.stdout and '[pseudo-labels]' not in res.stdout
    reused = list(csv.DictReader(open(tmp_path / 'sweep_out' / 'pseudo_labels.csv')))
    orig = [r for r in pls if r['experiment'] == 'lambda 0.2']
    assert [(r['variant'], r['J']) for r in reused] == [(r['variant'], r['J']) for r in orig]
    assert {r['experiment'] for r in reused} == {'lambda 0.2 again'}
    # the same seed from scratch gives the same numbers (CPU determinism)
    again = tmp_path / 'again'
    run('--out', str(again), '--seeds', '0')
    rows2 = list(csv.DictReader(open(again / 'results.csv')))
    for exp in ('lambda 0', 'lambda 0.2'):
        a = next(r for r in runs if r['experiment'] == exp and r['seed'] == '0')
        b = next(r for r in rows2 if r['experiment'] == exp and r['seed'] == '0')
        assert (a['J'], a['F'], a['J&F']) == (b['J'], b['F'], b['J&F'])
    assert '[done]' in first


def test_plots_bars_for_plain_experiments_and_lines_for_sweeps(runner, tmp_path):
    rows = [dict(exp=dict(name='baseline'), mean=[50., 40., 45.], std=[1., 2., 1.5]),
            dict(exp=dict(name='+FSL'), mean=[55., 42., 48.5], std=[.5, .5, .5]),
            dict(exp=dict(name='l0', group='J&F vs lambda', x=0.0), mean=[1., 2., 3.],
                 std=[0., 0., 0.]),
            dict(exp=dict(name='l1', group='J&F vs lambda', x=1.0), mean=[2., 3., 4.],
                 std=[0., 0., 0.])]
    files = runner.write_plots(rows, str(tmp_path))
    assert [os.path.basename(f) for f in files] == ['summary.png', 'J_F_vs_lambda.png']
    assert all(os.path.getsize(f) > 1000 for f in files)
    os.makedirs(tmp_path / 'sweep_only')
    assert runner.write_plots(rows[2:], str(tmp_path / 'sweep_only')) == [
        str(tmp_path / 'sweep_only' / 'J_F_vs_lambda.png')]


def test_partial_table_says_how_many_seeds_each_row_has(runner, tmp_path):
    exps = [dict(name='a', config='a.py', key='k1'), dict(name='b', config='b.py', key='k2'),
            dict(name='c', config='c.py', key='k3')]
    runs = {('k1', 0): {'J': 50., 'F': 30., 'J&F': 40.},
            ('k1', 1): {'J': 52., 'F': 34., 'J&F': 43.},
            ('k2', 0): {'J': 60., 'F': 40., 'J&F': 50.}}
    rows = runner.summarise(exps, [0, 1, 2], runs)
    assert [r['exp']['name'] for r in rows] == ['a', 'b']  # c has no finished run
    table = runner.write_tables(rows, [0, 1, 2], str(tmp_path), 'cmd')
    assert 'partial' in table.splitlines()[0]
    assert '| a | 51.00 ± 1.41 | 32.00 ± 2.83 | 41.50 ± 2.12 | 2 |' in table
    assert '| b | 60.00 ± 0.00 | 40.00 ± 0.00 | 50.00 ± 0.00 | 1 |' in table
    assert runner.previous_runs(str(tmp_path)) == runs  # the csv is the record of the runs
    # every row complete, one of them on its own two seeds: not partial, n still shown
    exps[1]['seeds'] = [0, 1]
    runs[('k1', 2)] = {'J': 54., 'F': 32., 'J&F': 43.}
    runs[('k2', 1)] = {'J': 62., 'F': 40., 'J&F': 51.}
    rows = runner.summarise(exps, [0, 1, 2], runs)
    table = runner.write_tables(rows, [0, 1, 2], str(tmp_path), 'cmd').splitlines()
    assert 'partial' not in table[0] and table[0].endswith('(`n`: the seeds each experiment runs)')
    assert '| a | 52.00 ± 2.00 | 32.00 ± 2.00 | 42.00 ± 1.73 | 3 |' in table
    assert '| b | 61.00 ± 1.41 | 40.00 ± 0.00 | 50.50 ± 0.71 | 2 |' in table
    # all rows complete on the same seeds: no n column
    rows = runner.summarise(exps[:1], [0, 1, 2], runs)
    table = runner.write_tables(rows, [0, 1, 2], str(tmp_path), 'cmd').splitlines()
    assert table[0] == 'Mean ± std over seeds 0, 1, 2 (`cmd`)'
    assert table[2] == '| experiment | J | F | J&F |'
    # a run whose final entry scores J alone (a CAM-label sweep): '—' for F and J&F
    nan = float('nan')
    only_j = {('k3', 0): {'J': 40., 'F': nan, 'J&F': nan}}
    rows = runner.summarise([dict(name='c', config='c.py', key='k3')], [0], only_j)
    table = runner.write_tables(rows, [0], str(tmp_path), 'cmd')
    assert '| c | 40.00 ± 0.00 | — | — |' in table
    assert runner.metric_text(only_j[('k3', 0)]) == 'J 40.00'
    assert runner.metric_text(runs[('k1', 0)]) == 'J 50.00  F 30.00  J&F 40.00'


def test_pseudo_label_summary_is_the_mean_and_std_over_seeds(runner, tmp_path):
    exps = [dict(name='a', config='a.py', key='k1')]
    pls = {('k1', s, 'ms'): [dict(variant='cam_sweep_best', threshold=t, J=j, F=f, how='')]
           for s, t, j, f in ((0, '0.30', '50.0', '20.0'), (1, '0.40', '54.0', '', ))}
    pls[('k1', 2, 'ms')] = [dict(variant='cam_sweep_best', threshold='0.9', J='0', F='0')]
    runner.write_pseudo_label_tables(exps, [0, 1], pls, str(tmp_path), 'cmd')  # seed 2: not in
    md = (tmp_path / 'pseudo_labels.md').read_text()
    assert '| ms | a | cam_sweep_best | 2 | 0.35 ± 0.07 | 52.00 ± 2.83 | 20.00 ± 0.00 |' in md
    assert runner.previous_pseudo_labels(str(tmp_path)).keys() == {('k1', 0, 'ms'),
                                                                    ('k1', 1, 'ms')}
    with pytest.raises(ValueError, match='differ'):
        runner.pseudo_label_protocols(dict(pseudo_labels=[dict(name='x'), dict(name='x')]))


def test_sweep_pseudo_label_plots_are_the_mean_and_std_per_x(runner, tmp_path):
    group = 'J&F vs lambda'
    exps = [dict(name='plain', config='p.py', key='k0'),  # not a sweep point: not plotted
            dict(name='l1 a', config='a.py', key='k1', group=group, series='a', x=1.0),
            dict(name='l0 a', config='a.py', key='k2', group=group, series='a', x=0.0),
            dict(name='l0 b', config='b.py', key='k3', group=group, series='b', x=0.0)]

    def rows(j, f):
        return [dict(variant='cam_sweep_best', threshold='0.3', J=j, F='', how=''),
                dict(variant='cam_F_bg0.25', threshold='0.25', J='1.0', F=f, how=''),
                dict(variant='cam', threshold='0.26', J='99.0', F='99.0', how='')]
    pls = {('k0', 0, 'ss'): rows('70.0', '70.0'),
           ('k1', 0, 'ss'): rows('40.0', '10.0'), ('k1', 1, 'ss'): rows('44.0', '14.0'),
           ('k2', 0, 'ss'): rows('30.0', '5.0'), ('k2', 5, 'ss'): rows('0.0', '0.0'),
           ('k3', 1, 'ss'): rows('50.0', '20.0')}
    points = runner.protocol_sweep_points(exps, [0, 1], pls)  # seed 5: not in the study
    assert points.keys() == {(group, 'ss')}
    panels = points[(group, 'ss')]
    std = float(np.std([40., 44.], ddof=1))
    assert panels[('cam_sweep_best', 'J')] == {'a': [(0.0, 30.0, 0.0), (1.0, 42.0, std)],
                                               'b': [(0.0, 50.0, 0.0)]}
    assert panels[('cam_F_bg0.25', 'F')] == {'a': [(0.0, 5.0, 0.0), (1.0, 12.0, std)],
                                             'b': [(0.0, 20.0, 0.0)]}
    files = runner.write_protocol_plots(exps, [0, 1], pls, str(tmp_path))
    assert files == [str(tmp_path / 'J_F_vs_lambda_ss.png')]
    assert os.path.getsize(files[0]) > 1000


def test_stage_differences_in_points_and_pooled_stds(runner, tmp_path):
    """differences.md / .csv: mean differences from each experiment's baseline per entry, over
    the pooled sample std sqrt((s_a^2 + s_b^2) / 2); '—' with one seed or a zero std."""
    def row(name, stage, entry, n, j, f):
        return dict(experiment=name, stage=stage, entry=entry, n=n, J=j, F=f)

    summary = [row('base', 'test_crf', 'test', 2, (50.0, 2.0), (20.0, 0.0)),
               row('base', 'random_walk', 'random_walk', 2, (40.0, 1.0), (10.0, 3.0)),
               row('add-on', 'test_crf', 'test', 2, (56.0, 4.0), (23.0, 0.0)),
               row('add-on', 'random_walk', 'random_walk', 2, (44.0, 1.0), (4.0, 1.0)),
               row('one seed', 'test_crf', 'test', 1, (60.0, 0.0), (30.0, 0.0)),
               row('long', 'test_crf', 'test', 2, (51.0, 1.0), (21.0, 1.0)),
               row('long add-on', 'test_crf', 'test', 2, (55.0, 3.0), (22.0, 1.0))]
    baselines = {'base': 'base', 'add-on': 'base', 'one seed': 'base', 'long': 'base',
                 'long add-on': 'long'}
    rows = runner.write_stage_differences(summary, baselines, ['random_walk/random_walk',
                                                               'test_crf/test', 'cam/train'],
                                          str(tmp_path), 'cmd')
    got = {(r['experiment'], r['entry']): r for r in rows}
    assert list(got) == [('add-on', 'random_walk/random_walk'), ('add-on', 'test_crf/test'),
                         ('one seed', 'test_crf/test'), ('long', 'test_crf/test'),
                         ('long add-on', 'test_crf/test')]
    walk = got[('add-on', 'random_walk/random_walk')]
    assert walk['dJ'] == pytest.approx(4.0) and walk['dJ_std'] == pytest.approx(4.0)
    assert walk['dF'] == pytest.approx(-6.0)
    assert walk['dF_std'] == pytest.approx(-6.0 / np.sqrt(5.0))
    final = got[('add-on', 'test_crf/test')]
    assert final['dJ_std'] == pytest.approx(6.0 / np.sqrt(10.0))  # 1.897
    assert np.isnan(final['dF_std'])  # both stds 0
    assert np.isnan(got[('one seed', 'test_crf/test')]['dJ_std'])  # one seed
    longer = got[('long add-on', 'test_crf/test')]
    assert longer['baseline'] == 'long' and longer['dJ_std'] == pytest.approx(4 / np.sqrt(5))
    md = (tmp_path / 'differences.md').read_text().splitlines()
    assert '| add-on | base | test_crf/test | 2 vs 2 | +6.00 | +1.9 | — | +3.00 | — | — |' \
        in md
    assert ('| add-on | base | random_walk/random_walk | 2 vs 2 | +4.00 | +4.0 | — | -6.00 | '
            '-2.7 | — |') in md
    assert ('| one seed | base | test_crf/test | 1 vs 2 | +10.00 | — | — | +10.00 | — | '
            '— |') in md
    table = list(csv.DictReader(open(tmp_path / 'differences.csv')))
    assert [(r['experiment'], r['dJ']) for r in table][:2] == [('add-on', '4.0000'),
                                                               ('add-on', '6.0000')]


def test_stage_differences_seed_by_seed(runner, tmp_path):
    """With the per-seed values of write_stage_tables, each difference is also given seed by
    seed, for the seeds both experiments ran, with how many are positive (md and csv)."""
    records = {('base', 0): 40.0, ('base', 1): 44.0, ('base', 2): 36.0,
               ('add-on', 0): 43.0, ('add-on', 1): 46.0, ('add-on', 2): 35.5,
               ('partial', 0): 41.0, ('partial', 1): 43.0}
    stage_rows = {(name, seed): [dict(stage='cam', entry='train', how='val', threshold='',
                                      J=j, F='', **{'J&F': ''})]
                  for (name, seed), j in records.items()}
    experiments = [dict(name=name, key=name) for name in ('base', 'add-on', 'partial')]
    summary = runner.write_stage_tables(experiments, [0, 1, 2], stage_rows, str(tmp_path), 'cmd')
    base = next(r for r in summary if r['experiment'] == 'base')
    assert base['J'] == pytest.approx((40.0, 4.0)) and base['by_seed'] == {
        'J': {0: 40.0, 1: 44.0, 2: 36.0}}
    rows = runner.write_stage_differences(summary, {n: 'base' for n in ('base', 'add-on',
                                                                         'partial')},
                                          ['cam/train'], str(tmp_path), 'cmd')
    got = {r['experiment']: r for r in rows}
    assert got['add-on']['dJ_seeds'] == pytest.approx({0: 3.0, 1: 2.0, 2: -0.5})
    assert got['partial']['dJ_seeds'] == pytest.approx({0: 1.0, 1: -1.0})  # seeds both ran
    md = (tmp_path / 'differences.md').read_text()
    assert ('| add-on | base | cam/train | 3 vs 3 | +1.50 | +0.3 | +3.0, +2.0, -0.5 (2/3 higher) '
            '| — | — | — |') in md
    assert '| +1.0, -1.0 (1/2 higher) |' in md
    table = {r['experiment']: r for r in csv.DictReader(open(tmp_path / 'differences.csv'))}
    assert table['add-on']['dJ_seeds'] == '0:3.0000 1:2.0000 2:-0.5000'


def test_rekey_gives_recorded_runs_the_current_keys_by_experiment_name(runner, tmp_path):
    fields = ['experiment', 'config', 'key', 'seed', 'J', 'F', 'J&F']
    with open(tmp_path / 'results.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        writer.writerow(['A', 'a.py', 'old_a', '0', '10.0', '2.0', '6.0'])
        writer.writerow(['A', 'a.py', 'old_a', '1', '12.0', '2.0', '7.0'])
        writer.writerow(['B', 'b.py', 'same_b', '0', '20.0', '4.0', '12.0'])
        writer.writerow(['C', 'c.py', 'old_c', '0', '30.0', '6.0', '18.0'])  # not in the study
    with open(tmp_path / 'pseudo_labels.csv', 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['experiment', 'key', 'seed', 'protocol', 'variant', 'J'])
        writer.writerow(['A', 'old_a', '0', 'single scale', 'cam', '11.5'])
        writer.writerow(['C', 'old_c', '0', 'single scale', 'cam', '31.5'])
    experiments = [dict(name='A', key='new_a'), dict(name='B', key='same_b')]
    assert runner.rekey(str(tmp_path), experiments) == {'old_a': 'new_a'}
    runs = runner.previous_runs(str(tmp_path))
    assert runs == {('new_a', 0): {'J': 10.0, 'F': 2.0, 'J&F': 6.0},
                    ('new_a', 1): {'J': 12.0, 'F': 2.0, 'J&F': 7.0},
                    ('same_b', 0): {'J': 20.0, 'F': 4.0, 'J&F': 12.0},
                    ('old_c', 0): {'J': 30.0, 'F': 6.0, 'J&F': 18.0}}
    pls = runner.previous_pseudo_labels(str(tmp_path))
    assert set(pls) == {('new_a', 0, 'single scale'), ('old_c', 0, 'single scale')}
    assert pls[('new_a', 0, 'single scale')][0]['J'] == '11.5'
    # one recorded key cannot become two
    with open(tmp_path / 'results.csv', 'a', newline='') as f:
        csv.writer(f).writerow(['D', 'd.py', 'new_a', '0', '1.0', '1.0', '1.0'])
    with pytest.raises(ValueError, match='maps to both'):
        runner.rekey(str(tmp_path), [dict(name='A', key='x'), dict(name='D', key='y')])


@pytest.mark.parametrize('path', STUDIES, ids=[os.path.basename(p) for p in STUDIES])
def test_every_study_experiment_resolves_and_builds_its_model(runner, path):
    """What ``run_experiments.py`` does first for each experiment (its run key: base files merged,
    ``cfg_options`` applied), then the model ``tools/train.py`` would build: a ``cfg_options``
    key that a config no longer has fails here, not at the study's first run."""
    study = Config.fromfile(path)
    assert study.experiments
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    built = set()
    # a study with committed results keeps its keys: a change of the configs' text would
    # otherwise retrain every recorded run (``--rekey`` is for changes that train the same)
    recorded = runner.read_csv(os.path.join(ROOT, study.get('results_dir') or 'none',
                                            'results.csv'))
    recorded = {(row['experiment'], row['key']) for row in recorded}
    for exp in study.experiments:
        key = runner.run_key(exp)
        if recorded and not exp.get('pipeline'):
            assert (exp['name'], key) in recorded, (
                f"{exp['name']}: run key {key} is not in the committed results of {path}")
        if exp.get('pipeline'):
            check_pipeline_experiment(runner, exp, built)
            continue
        cfg = runner.resolved_config(exp)
        for option in exp.get('cfg_options', []):  # in the resolved config as given
            (name, value), = parser.parse_args(['--o', option]).o.items()
            node = cfg
            for part in name.split('.'):
                node = node[int(part)] if isinstance(node, list) else node[part]
            assert node == value, (exp['name'], option)
        if key in built:
            continue
        built.add(key)
        model = MODELS.build(cfg.model)
        add_on = cfg.model.decode_head.get('add_on') or {}
        if 'isl' in add_on:  # the sweeps' lambda (eq. 16) reaches the head
            assert model.decode_head.add_on.lam == pytest.approx(
                add_on['isl'].get('lam', 0.2)), exp['name']
        del model


def check_pipeline_experiment(runner, exp, built):
    """A pipeline experiment: its options reach the pipeline config, every stage config resolves
    and every training stage builds its model (once per resolved config)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    pcfg, stages, plan = runner.pipeline_plan(exp)
    for option in exp.get('cfg_options', []):
        (name, value), = parser.parse_args(['--o', option]).o.items()
        node = pcfg
        for part in name.split('.'):
            node = node[part]
        assert node == value, (exp['name'], option)
    if exp.get('to'):
        assert stages[-1].name == exp['to']
    if exp.get('final'):
        assert exp['final'].split('/')[0] in [s.name for s in stages], exp['name']
    for stage in stages:
        cfg = plan.config(stage)
        key = plan.config_text(stage)
        if stage.kind != 'train' or key in built:
            continue
        built.add(key)
        MODELS.build(cfg.model)
