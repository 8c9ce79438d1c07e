"""The pipeline block of docs/en/pipeline.md runs as written on the embedded data; the result
tables of the docs are the committed runner outputs; every image the docs show is committed.

The commands are read from the page itself (between the ``pipeline-commands`` markers) and run
in a fresh working directory holding the repository's ``configs/``, ``tools/`` and ``.venv``,
so every relative path means what it means in a shell there. Only the iteration caps (4
training iterations instead of 1,500) and, with them, the checkpoint names are substituted, and
the dataset is made smaller (``SMALL``: 16 training and 4 validation images of 64 px instead of
240 + 60 of 128 px; the runs' outputs are checked against the split the command made).
"""
import glob
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ITERS = 4
CAPS = [f'train_cfg.max_iters={ITERS}', f'train_cfg.val_interval={ITERS}',
        f'param_scheduler.0.end={ITERS}', f'default_hooks.checkpoint.interval={ITERS}',
        'default_hooks.logger.interval=1']
# the embedded dataset at test size (tools/make_synthetic_dataset.py's options)
SMALL = ['--num-train', '16', '--num-val', '4', '--size', '64']


def doc_files():
    """README.md, every page under docs/ and every config folder's README.md
    (repository-relative paths)."""
    pages = (glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True) +
             glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
    return ['README.md'] + sorted(osp.relpath(p, ROOT) for p in pages)


def readme_block(marker: str, doc: str = 'README.md'):
    """The shell commands of the block of ``doc`` between ``<!-- marker:start/end -->``, with
    line continuations joined and comments dropped."""
    text = open(osp.join(ROOT, doc)).read()
    block = re.search(rf'<!-- {marker}:start -->\s*```bash\n(.*?)```\s*<!-- {marker}:end -->',
                      text, re.S)
    assert block, f'{doc} has no {marker} block'
    joined = block.group(1).replace('\\\n', ' ')
    return [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.startswith('#')]


def with_caps(command: str):
    """The command's arguments with the iteration caps added to training commands and the
    checkpoint names changed to match, and the embedded dataset made at test size."""
    args = shlex.split(command.replace('iter_1500.pth', f'iter_{ITERS}.pth'))
    if 'tools/make_synthetic_dataset.py' in args:
        args += SMALL
    if 'tools/train.py' in args:
        if '--cfg-options' in args:
            at = args.index('--cfg-options') + 1
            args[at:at] = CAPS
        else:
            args += ['--cfg-options', *CAPS]
    return args


def test_readme_pipeline_block_runs_as_written(tmp_path):
    commands = readme_block('pipeline-commands', 'docs/en/pipeline.md')
    assert len(commands) == 9 and all(c.startswith('.venv/bin/python tools/') for c in commands)
    for name in ('configs', 'tools'):
        os.symlink(osp.join(ROOT, name), tmp_path / name)
    os.symlink(sys.prefix, tmp_path / '.venv')  # the environment running the tests
    logs = []
    for command in commands:
        res = subprocess.run(with_caps(command), cwd=tmp_path, capture_output=True, text=True,
                             timeout=900)
        logs.append(res.stdout + res.stderr)
        assert res.returncode == 0, f'{command}\n{logs[-1][-3000:]}'
    # every output lies where the command line said, relative to the working directory
    pl = tmp_path / 'work_dirs' / 'pl'
    train_names = open(tmp_path / 'data/synthetic_voc/ImageSets/Segmentation/train.txt').read()
    num_train = len(train_names.split())
    for variant, ext in (('cam', '.png'), ('crf_a1', '.png'), ('aff_crf', '.npz'),
                         ('ir_label', '.png'), ('aff', '.png'), ('irn', '.png')):
        files = [f for f in os.listdir(pl / variant) if f.endswith(ext)]
        assert len(files) == num_train, variant
    metrics = json.load(open(pl / 'metrics.json'))
    assert metrics['scored_on']['images'] == num_train
    assert {'cam', 'cam_sweep_best', 'cam_F_bg0.25', 'cam_otsu', 'crf_a1', 'crf_a24',
            'crf_label'} <= set(metrics)
    for refined in ('aff', 'irn'):
        rw = json.load(open(pl / refined / 'metrics.json'))['random_walk']
        assert 0 <= rw['J'] <= 100 and 0 <= rw['F'] <= 100
        label = np.asarray(Image.open(pl / refined / os.listdir(pl / refined)[0]))
        assert label.dtype == np.uint8 and label.ndim == 2
    # stage 3 trained on the random-walk labels found under work_dirs/pl/aff and was scored
    assert f"pseudo_label_dir = '{os.path.realpath(pl / 'aff')}'" in logs[-2]  # logged config
    for log in logs[-2:]:  # the end-of-training score, then the test with the dense CRF
        line = [ln for ln in log.splitlines() if 'J&F:' in ln][-1]
        assert set(dict(re.findall(r'\b(J|F|J&F): ([0-9.]+)', line))) == {'J', 'F', 'J&F'}
    assert 'test-time dense CRF on the predictions' in logs[-1]


def test_readme_results_are_the_committed_runner_outputs(tmp_path):
    """Every ``<!-- results: PATH -->`` block of README.md and of the docs pages (the studies
    page holds most) is, character for character, the committed file the runner wrote
    (``tools/paste_results.py`` pastes them)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('paste', osp.join(ROOT, 'tools',
                                                                    'paste_results.py'))
    paste = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(paste)
    assert sorted(osp.relpath(p, ROOT) for p in paste.doc_files()) == sorted(
        d for d in doc_files() if not d.startswith('docs/results/'))
    blocks = {doc: paste.result_blocks(open(osp.join(ROOT, doc)).read()) for doc in doc_files()}
    assert len(blocks['docs/en/studies.md']) >= 5 and blocks['README.md']
    for doc, doc_blocks in blocks.items():
        for path, body in doc_blocks:
            assert body == open(osp.join(ROOT, path)).read(), f'{doc}: {path}'
    # the tool replaces a stale block and refuses a missing file
    (tmp_path / 'r.md').write_text('| a | 1 |\n')
    text = 'x\n<!-- results: r.md -->\n| a | 0 |\n<!-- end results -->\ny\n'
    assert paste.paste(text, str(tmp_path)) == text.replace('| a | 0 |', '| a | 1 |')
    with pytest.raises(FileNotFoundError, match='missing.md'):
        paste.paste(text.replace('r.md', 'missing.md'), str(tmp_path))


def test_readme_images_are_committed_files():
    """Every image README.md and the docs show (``![...](PATH)``, relative to the page) is a
    file of the repository, e.g. a plot the study runner wrote under ``docs/results/``."""
    shown, missing = 0, []
    for doc in doc_files():
        text = open(osp.join(ROOT, doc)).read()
        for path in re.findall(r'!\[[^\]]*\]\(([^)\s]+)\)', text):
            shown += 1
            if not osp.isfile(osp.join(ROOT, osp.dirname(doc), path)):
                missing.append(f'{doc}: {path}')
    assert shown >= 5
    assert not missing, f'the docs show images that are not in the repository: {missing}'
