"""README.md's "From image-level labels to a segmentor" block runs as written on the embedded
data, in a fresh working directory holding the repository's ``configs/``, ``tools/`` and
``.venv`` (as tests/test_readme.py). Substituted for test time only: a smaller dataset (16
training images of 64 px) and 2 iterations per training stage (``--cfg-options max_iters=2``)."""
import json
import os
import shlex
import subprocess
import sys

from ..test_readme import ROOT, readme_block

SMALL = ['--num-train', '16', '--num-val', '4', '--size', '64']
CAPS = ['--cfg-options', 'max_iters=2', 'train_cfg_options.train_dataloader.batch_size=4']


def test_readme_run_pipeline_block_runs_as_written(tmp_path):
    commands = readme_block('run-pipeline')
    assert len(commands) == 2 and 'tools/run_pipeline.py' in commands[1]
    for name in ('configs', 'tools'):
        os.symlink(os.path.join(ROOT, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    logs = []
    for command, extra in zip(commands, (SMALL, CAPS)):
        res = subprocess.run(shlex.split(command) + extra, cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=1500)
        logs.append(res.stdout + res.stderr)
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
