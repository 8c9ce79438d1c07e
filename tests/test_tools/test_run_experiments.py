import csv
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_runner_tables_plots_resume_and_determinism(synthetic_root, tmp_path):
    data = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]
    study = tmp_path / 'study.py'
    study.write_text(
        'seeds = [0, 1]\n'
        'experiments = [\n'
        f"    dict(name='lambda 0', config='tests/data/tiny_cam.py', group='lambda sweep',\n"
        f"         x=0.0, xlabel='lambda', cfg_options={data + ['model.decode_head.loss_decode.1.loss_weight=0.0']!r}),\n"
        f"    dict(name='lambda 0.2', config='tests/data/tiny_cam.py', group='lambda sweep',\n"
        f"         x=0.2, xlabel='lambda', cfg_options={data!r}),\n"
        ']\n')

    def run(*args):
        res = subprocess.run([sys.executable, 'tools/run_experiments.py', str(study), *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout

    out = tmp_path / 'out'
    first = run('--out', str(out))
    table = (out / 'results.md').read_text()
    assert '| lambda 0 |' in table and '| lambda 0.2 |' in table and '±' in table
    rows = list(csv.DictReader(open(out / 'results.csv')))
    runs = [r for r in rows if r['seed'] in ('0', '1')]
    assert len(runs) == 4
    mean = next(r for r in rows if r['experiment'] == 'lambda 0' and r['seed'] == 'mean')
    per_seed = [float(r['J']) for r in runs if r['experiment'] == 'lambda 0']
    assert abs(float(mean['J']) - sum(per_seed) / 2) < 1e-3
    assert (out / 'lambda_sweep.png').stat().st_size > 0
    # a rerun reuses the finished runs and rebuilds the same table
    assert '[run]' not in run('--out', str(out))
    assert (out / 'results.md').read_text().splitlines()[2:] == table.splitlines()[2:]
    # the same seed from scratch gives the same numbers (CPU determinism)
    again = tmp_path / 'again'
    run('--out', str(again), '--seeds', '0')
    rows2 = list(csv.DictReader(open(again / 'results.csv')))
    for exp in ('lambda 0', 'lambda 0.2'):
        a = next(r for r in runs if r['experiment'] == exp and r['seed'] == '0')
        b = next(r for r in rows2 if r['experiment'] == exp and r['seed'] == '0')
        assert (a['J'], a['F'], a['J&F']) == (b['J'], b['F'], b['J&F'])
    assert '[done]' in first


def test_plots_bars_for_plain_experiments_and_lines_for_sweeps(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'run_experiments', os.path.join(ROOT, 'tools', 'run_experiments.py'))
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
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
