"""tools/run_pipeline.py end to end on the small embedded dataset: the SEAM twin pipeline runs
every stage and reports J / F per stage; a rerun skips every stage; a run killed (``kill -9``
of its process group) in a middle stage continues on rerun to the same outputs as an
uninterrupted run, skipping the finished stages; a replaced CAM checkpoint reruns only the
stages below it; a study of pipeline experiments (``tools/run_experiments.py``) resumes the
SEAM run in its work directory and runs a shorter one. The add-on twin on 2 gloo ranks
(``--gpus 2``) is README.md's pipeline block, tests/test_pipeline/test_readme_pipeline.py; the
other methods' twins are tests/test_pipeline/test_twin_pipelines.py.

The runs share the session's small dataset (16 training images of 64 px) and train 2
iterations per training stage (``max_iters=2``, the pipeline-wide cap).
"""
import csv
import json
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ..utils import output_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEAM = 'configs/pipelines/seam_synthetic.py'
SEAM_STAGES = ['cam', 'pseudo_labels', 'affinity', 'random_walk', 'segmentor', 'test',
               'test_crf']
SCORED = ['cam', 'pseudo_labels', 'random_walk', 'segmentor', 'test', 'test_crf']


def pipeline_cmd(config, work_dir, root, *extra):
    return [sys.executable, 'tools/run_pipeline.py', config, '--work-dir', str(work_dir),
            *extra, '--cfg-options', *pipeline_options(root)]


def pipeline_options(root, seed=0):
    """The pipelines' ``--cfg-options`` here: the small dataset, 2 iterations per training
    stage, and the seed that ``tools/run_experiments.py`` passes."""
    return [f'data_root={root}', 'max_iters=2', 'train_cfg_options.train_dataloader.batch_size=4',
            f'train_cfg_options.randomness.seed={seed}']


def run_pipeline(config, work_dir, root, *extra):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    res = subprocess.run(pipeline_cmd(config, work_dir, root, *extra), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return res.stdout + res.stderr


def report_rows(work_dir):
    """{stage: [(result, J, F, J&F)]} of report.md's table."""
    rows = {}
    for line in open(osp.join(work_dir, 'report.md')).read().splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if len(cells) == 10 and cells[0].isdigit():
            rows.setdefault(cells[1], []).append(tuple(cells[3:7]))
    return rows


def stage_lines(log):
    return [ln for ln in log.splitlines() if ln.startswith('[pipeline] stage')]


@pytest.fixture(scope='module')
def seam_run(synthetic_root, tmp_path_factory):
    """The SEAM twin at seed 0 in the work directory that ``tools/run_experiments.py --out
    <base>/out`` gives experiment 'SEAM' at seed 0 (the study test resumes it there)."""
    work = tmp_path_factory.mktemp('pipeline') / 'out' / 'SEAM' / 'seed0'
    log = run_pipeline(SEAM, work, synthetic_root)
    return work, log


def test_seam_twin_runs_end_to_end_and_reports_every_stage(seam_run, synthetic_root):
    work, log = seam_run
    n = len(SEAM_STAGES)
    for k, name in enumerate(SEAM_STAGES, 1):
        assert f'[pipeline] stage {k}/{n} {name} (' in log, name
    state = json.load(open(work / 'pipeline.json'))
    assert list(state['stages']) == SEAM_STAGES
    rows = report_rows(work)
    assert list(rows) == SEAM_STAGES  # a row for every stage, in order
    for name in SCORED:  # J and F of every scored stage; the rest of a row may be '-'
        scored = [r for r in rows[name] if '—' not in r[1:]]
        assert scored, name
        for result, j, f, jf in scored:
            assert 0 <= float(j) <= 100 and 0 <= float(f) <= 100, (name, result)
            assert float(jf) == pytest.approx((float(j) + float(f)) / 2, abs=0.011)
    assert rows['affinity'] == [('—', '—', '—', '—')]  # scored through the random walk
    # the CAM stage's pseudo-label variants and the random walk are scored on the train split
    assert {r[0].split(' ')[0] for r in rows['pseudo_labels']} >= {
        'cam', 'cam_sweep_best', 'crf_a4', 'crf_a24'}
    walk = json.load(open(work / 'random_walk' / 'metrics.json'))['random_walk']
    assert rows['random_walk'][0][1] == f"{walk['J']:.2f}"
    assert 'multi-scale + flip + dense CRF' in rows['test_crf'][0][0]
    # every record: the command that ran, its wall time and peak memory
    for name, record in state['stages'].items():
        assert record['command'][0] == sys.executable and record['wall_s'] > 0
        assert record['peak_rss_mib'] > 10
    seg = state['stages']['segmentor']['command']
    assert f"pseudo_label_dir={work / 'random_walk'}" in seg  # the input, by stage name
    # the panels: one per fixed image, six tiles
    panels = state['panels']['files']
    assert len(panels) == 2 and all(osp.isfile(p) for p in panels)
    import cv2
    assert cv2.imread(panels[0]).shape[1] > 6 * 160
    assert '![' in open(work / 'report.md').read()


def test_study_of_pipelines_resumes_runs_and_tabulates(seam_run, synthetic_root):
    """``tools/run_experiments.py`` on a study of pipeline experiments (``pipeline=...``): the
    SEAM pipeline (the module's run, found in the runner's work directory: resumed, every stage
    up to date) and its first two stages alone (``to``: run here); the results hold the last
    test's J / F / J&F and every stage's scores, as the pipeline recorded them; a rerun and a
    fresh machine with the results directory alone run nothing again; ``--collect`` tabulates
    the finished runs only."""
    work, _ = seam_run
    base = work.parent.parent.parent
    out, results = base / 'out', base / 'results'
    study = base / 'study.py'
    opts = pipeline_options(synthetic_root)[:-1]  # the runner adds the seed
    study.write_text(
        'seeds = [0]\n'
        'experiments = [\n'
        f"    dict(name='SEAM', pipeline='{SEAM}', cfg_options={opts!r}),\n"
        f"    dict(name='SEAM CAM labels', pipeline='{SEAM}', cfg_options={opts!r}, "
        "to='pseudo_labels', final='pseudo_labels/cam_sweep_best'),\n"
        ']\n')

    def run(*args):
        env = dict(os.environ, PYTHONPATH=ROOT)
        res = subprocess.run([sys.executable, 'tools/run_experiments.py', str(study), *args],
                             cwd=ROOT, capture_output=True, text=True, timeout=1500, env=env)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout

    first = run('--out', str(out), '--results', str(results))
    assert first.count('[run]') == 2 and first.count('[done]') == 2
    resumed = stage_lines(open(work / 'run.log').read())
    assert len(resumed) == len(SEAM_STAGES) and all('up to date' in ln for ln in resumed)
    state = json.load(open(work / 'pipeline.json'))
    assert list(state['stages']) == SEAM_STAGES
    short_log = stage_lines(open(out / 'SEAM_CAM_labels' / 'seed0' / 'run.log').read())
    assert [ln.split()[3] for ln in short_log if ': running' in ln] == ['cam', 'pseudo_labels']
    short = json.load(open(out / 'SEAM_CAM_labels' / 'seed0' / 'pipeline.json'))
    assert list(short['stages']) == ['cam', 'pseudo_labels']  # --to
    # the CAM stage of both: one resolved config and seed (the runner's threads may differ)
    assert short['stages']['cam']['fingerprint'] == state['stages']['cam']['fingerprint']
    # the headline: the last stage (the test with the dense CRF), and the entry named by final
    rows = {r['experiment']: r for r in csv.DictReader(open(results / 'results.csv'))
            if r['seed'] == '0'}
    crf = state['stages']['test_crf']['metrics']['test']
    assert [float(rows['SEAM'][k]) for k in ('J', 'F', 'J&F')] == pytest.approx(
        [crf['J'], crf['F'], crf['J&F']], abs=1e-4)
    best = short['stages']['pseudo_labels']['metrics']['cam_sweep_best']
    assert float(rows['SEAM CAM labels']['J']) == pytest.approx(best['J'], abs=1e-4)
    # every scored entry of every stage, in stage order, as pipeline.json holds it
    stages = [r for r in csv.DictReader(open(results / 'stages.csv'))
              if r['experiment'] == 'SEAM']
    expected = [(name, entry, f"{m['J']:.4f}") for name in state['order']
                for entry, m in state['stages'][name]['metrics'].items()]
    assert [(r['stage'], r['entry'], r['J']) for r in stages] == expected
    assert {'cam', 'pseudo_labels', 'random_walk', 'segmentor', 'test', 'test_crf'} <= {
        r['stage'] for r in stages}
    walk = state['stages']['random_walk']['metrics']['random_walk']
    md = (results / 'stages.md').read_text()
    assert "| SEAM | random_walk | random_walk | " in md
    assert f"| 1 | {walk['J']:.2f} ± 0.00 |" in md
    assert (results / 'stages.png').stat().st_size > 1000
    table = (results / 'results.md').read_text()
    # a rerun: every run is recorded, nothing starts
    assert '[run]' not in run('--out', str(out), '--results', str(results))
    # a fresh machine with only the results directory: nothing runs, the same tables
    again = run('--out', str(base / 'fresh'), '--results', str(results))
    assert '[run]' not in again
    assert (results / 'results.md').read_text().splitlines()[2:] == table.splitlines()[2:]
    assert [r for r in csv.DictReader(open(results / 'stages.csv'))
            if r['experiment'] == 'SEAM'] == stages
    # --collect starts nothing: it tabulates the finished runs of the work directories (their
    # metrics.json) that no table records yet, and leaves the unfinished ones alone
    collected = base / 'collected'
    shutil.rmtree(out / 'SEAM_CAM_labels')
    log = run('--out', str(out), '--results', str(collected), '--collect')
    assert '[run]' not in log
    assert not (out / 'SEAM_CAM_labels').exists()
    assert [r['experiment'] for r in csv.DictReader(open(collected / 'results.csv'))
            if r['seed'] == '0'] == ['SEAM']
    assert [r for r in csv.DictReader(open(collected / 'stages.csv'))] == stages


def test_rerun_skips_every_stage(seam_run, synthetic_root):
    work, _ = seam_run
    before = open(work / 'report.md').read()
    log = run_pipeline(SEAM, work, synthetic_root)
    lines = stage_lines(log)
    assert len(lines) == len(SEAM_STAGES)
    assert all(re.search(r': up to date \(fingerprint [0-9a-f]{16}\), skipped$', ln)
               for ln in lines), lines
    assert open(work / 'report.md').read() == before


def test_from_reruns_that_stage_only(seam_run, synthetic_root):
    work, _ = seam_run
    before = json.load(open(work / 'pipeline.json'))['stages']
    lines = stage_lines(run_pipeline(SEAM, work, synthetic_root, '--from', 'test_crf'))
    assert all('(before --from test_crf)' in ln for ln in lines[:6])
    assert lines[6:] == [
        '[pipeline] stage 7/7 test_crf: removing its outputs (forced by --from)',
        f"[pipeline] stage 7/7 test_crf (test): running (fingerprint "
        f"{before['test_crf']['fingerprint']})", lines[8]]
    assert lines[8].startswith('[pipeline] stage 7/7 test_crf: finished in ')
    after = json.load(open(work / 'pipeline.json'))['stages']
    assert after['test_crf']['metrics'] == before['test_crf']['metrics']  # deterministic


def test_killed_run_continues_to_the_same_outputs(seam_run, synthetic_root, tmp_path):
    """kill -9 of the whole process group while the AffinityNet stage (3 of 7) runs; the rerun
    (up to the random walk, the stage that reads AffinityNet's checkpoint) skips stages 1-2 and
    ends with the labels and scores of the uninterrupted run."""
    reference, _ = seam_run
    work = tmp_path / 'seam'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.Popen(pipeline_cmd(SEAM, work, synthetic_root), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith('[pipeline] stage 3/7 affinity (train): running'):
            break
    # let the training start (it has written nothing yet or part of its run: both resume)
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = json.load(open(work / 'pipeline.json'))
    assert list(state['stages']) == ['cam', 'pseudo_labels']  # only finished stages recorded
    log = run_pipeline(SEAM, work, synthetic_root, '--to', 'random_walk')
    lines = stage_lines(log)
    assert 'stage 1/7 cam: up to date' in lines[0] and 'skipped' in lines[0]
    assert 'stage 2/7 pseudo_labels: up to date' in lines[1]
    assert 'stage 3/7 affinity' in lines[2] and 'skipped' not in lines[2]
    for name in ('random_walk', ):
        assert output_files(work / name) == output_files(reference / name)
        for f in output_files(work / name):
            if f.endswith('.png'):
                assert open(work / name / f, 'rb').read() == \
                    open(reference / name / f, 'rb').read(), f
    ref = json.load(open(reference / 'pipeline.json'))['stages']
    new = json.load(open(work / 'pipeline.json'))['stages']
    assert list(new) == ['cam', 'pseudo_labels', 'affinity', 'random_walk']
    for name in ('cam', 'pseudo_labels', 'random_walk'):
        assert new[name]['metrics'] == ref[name]['metrics'], name


def test_new_cam_checkpoint_reruns_only_the_stages_below(seam_run, synthetic_root):
    import torch
    work, _ = seam_run
    state = json.load(open(work / 'pipeline.json'))
    ckpt = state['stages']['cam']['outputs']['checkpoint']
    data = torch.load(ckpt, map_location='cpu', weights_only=False)
    key = next(k for k, v in data['state_dict'].items() if v.is_floating_point())
    data['state_dict'][key] = data['state_dict'][key] + 0.01
    torch.save(data, ckpt)
    log = run_pipeline(SEAM, work, synthetic_root, '--to', 'random_walk')
    lines = stage_lines(log)
    assert 'stage 1/7 cam: up to date' in lines[0]
    rerun = [ln.split()[3] for ln in lines[1:] if ': running' in ln]
    assert rerun == ['pseudo_labels', 'affinity', 'random_walk']
    # cam skipped; each rerun stage: outputs removed, running, finished; nothing after --to
    assert len(lines) == 1 + 3 * 3 and not any('stage 5/7' in ln for ln in lines)
    new = json.load(open(work / 'pipeline.json'))['stages']
    for name in ('pseudo_labels', 'affinity', 'random_walk'):
        assert new[name]['fingerprint'] != state['stages'][name]['fingerprint'], name
    assert new['cam']['fingerprint'] == state['stages']['cam']['fingerprint']
