"""README.md's "From image-level labels to a segmentor" block runs as written on the embedded
data, in a fresh working directory holding the repository's ``configs/``, ``tools/`` and
``.venv`` (as tests/test_readme.py), with every stage that can be launched on 2 gloo ranks
(``--gpus 2``: the add-on twin's distributed run; the single-process run of a pipeline is
tests/test_pipeline/test_run_pipeline.py's). Substituted for test time only: a smaller dataset
(16 training images of 64 px), 2 iterations per training stage (``--cfg-options max_iters=2``)
and ``--gpus 2``."""
import json
import os
import shlex
import subprocess
import sys

from ..test_readme import ROOT, readme_block
from ..utils import retry_on_rank_abort
from .test_run_pipeline import SCORED, SEAM_STAGES, report_rows

SMALL = ['--num-train', '16', '--num-val', '4', '--size', '64']
CAPS = ['--gpus', '2', '--cfg-options', 'max_iters=2',
        'train_cfg_options.train_dataloader.batch_size=4']


def test_readme_run_pipeline_block_runs_as_written(tmp_path):
    commands = readme_block('run-pipeline')
    assert len(commands) == 2 and 'tools/run_pipeline.py' in commands[1]
    for name in ('configs', 'tools'):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    logs = []
    for command, extra in zip(commands, (SMALL, CAPS)):
        attempts = []

        def once(attempt):  # a retried pipeline continues: its log is both attempts'
            res = subprocess.run(shlex.split(command) + extra, cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=1500)
            attempts.append(res.stdout + res.stderr)
            return res

        res = retry_on_rank_abort(once)
        logs.append(''.join(attempts))
        assert res.returncode == 0, f'{command}\n{logs[-1][-4000:]}'
    work = tmp_path / 'work_dirs' / 'pipelines' / 'hfpl_seam_synthetic'
    state = json.load(open(work / 'pipeline.json'))
    order = state['order']
    assert order == ['cam', 'pseudo_labels', 'affinity', 'random_walk', 'segmentor', 'test',
                     'test_crf']
    for k, name in enumerate(order, 1):
        assert f'[pipeline] stage {k}/{len(order)} {name} (' in logs[1]
    report = open(work / 'report.md').read()
    for name in order:
        assert f'| {name} |' in report
    # the add-on's CRF alpha 1 labels were made and scored
    assert 'J' in state['stages']['pseudo_labels']['metrics']['crf_a1']
    assert state['stages']['test_crf']['metrics']['test']['J&F'] >= 0
    # every launchable stage ran on 2 gloo ranks, the random walk on worker processes
    # (moved here from test_run_pipeline.py's test_add_on_twin_on_two_gloo_ranks)
    for name in ('cam', 'pseudo_labels', 'affinity', 'segmentor', 'test_crf'):
        cmd = state['stages'][name]['command']
        assert cmd[1:4] == ['-m', 'torch.distributed.run', '--nproc_per_node=2'], name
        assert cmd[cmd.index('--launcher') + 1] == 'pytorch'
    assert '--workers' in state['stages']['random_walk']['command']
    # the CAM stage trained on 2 ranks with the batch split
    assert 'effective total batch size 8 = 2 process(es) x 4' in logs[1]
    rows = report_rows(work)
    assert list(rows) == SEAM_STAGES
    for name in SCORED:
        assert any(r[1] != '—' and 0 <= float(r[1]) <= 100 for r in rows[name]), name
