"""tools/make_pseudo_labels.py and PseudoLabelHook end to end on the small synthetic set."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ..utils import free_port, output_files, retry_on_rank_abort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'data', 'tiny_cam.py')


def opts(root):
    return [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader',
                                                     'test_dataloader')]


def make(ckpt, out, root, *extra, check=True):
    res = subprocess.run([sys.executable, 'tools/make_pseudo_labels.py', CONFIG, ckpt, '--out',
                          str(out), *extra, '--cfg-options', *opts(root)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    if check:
        assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_tool_writes_scores_and_resumes(synthetic_root, tiny_checkpoint, tmp_path):
    out = tmp_path / 'pl'
    res = make(tiny_checkpoint, out, synthetic_root, '--scales', '1.0', '0.5', '--crf', '1',
               '--label-crf', '--workers', '2', '--curve')
    labels = json.load(open(os.path.join(synthetic_root, 'cls_labels.json')))['labels']
    names = [n for n in labels if n.startswith('train')]
    for variant in ('cam', 'crf_a1', 'crf_label'):
        files = output_files(out / variant)
        assert files == sorted(n + '.png' for n in names)  # one PNG per training image
    changed = 0
    for name in names:
        cam = np.asarray(Image.open(out / 'cam' / f'{name}.png'))
        crf = np.asarray(Image.open(out / 'crf_a1' / f'{name}.png'))
        assert set(np.unique(cam)) <= {0, *labels[name]}  # only the image's classes
        assert set(np.unique(crf)) <= {0, *labels[name]}
        changed += int((cam != crf).any())
    assert changed > 0  # the CRF changes the labels
    metrics = json.load(open(out / 'metrics.json'))
    for variant in ('cam', 'crf_a1', 'crf_label'):
        assert {'J', 'F', 'J&F'} <= set(metrics[variant])
        assert re.search(rf'{variant}\s+J {metrics[variant]["J"]:.2f}', res.stdout)
    assert metrics['cam']['threshold'] == 0.3 and 'fixed' in metrics['cam']['how']
    assert 0.0 <= metrics['cam_sweep_best']['threshold'] <= 0.59
    best = max(float(r.split(',')[1]) for r in open(out / 'curve.csv').read().splitlines()[1:])
    assert metrics['cam_sweep_best']['J'] == pytest.approx(best, abs=1e-3)
    rows = open(out / 'curve.csv').read().splitlines()
    assert rows[0] == 'threshold,J,F,J&F' and len(rows) == 61
    assert (out / 'curve.png').stat().st_size > 0

    # delete a few outputs: a rerun regenerates exactly those
    stamps = {n: (out / 'cam' / f'{n}.png').stat().st_mtime_ns for n in names}
    for n in names[:3]:
        os.remove(out / 'cam' / f'{n}.png')
    os.remove(out / 'cams' / f'{names[3]}.npz')
    res = make(tiny_checkpoint, out, synthetic_root, '--scales', '1.0', '0.5', '--crf', '1',
               '--label-crf')
    assert f'{len(names) - 4} of {len(names)} images already done with the same settings' in \
        res.stdout + res.stderr
    assert 'wrote 4 = 4 images on 1 rank(s)' in res.stdout + res.stderr
    for n in names[:3]:
        assert (out / 'cam' / f'{n}.png').is_file()
    for n in names[4:]:
        assert (out / 'cam' / f'{n}.png').stat().st_mtime_ns == stamps[n]
    leftovers = [f for d, _, fs in os.walk(out) for f in fs if '.tmp' in f]
    assert leftovers == []


def test_tool_refuses_the_ground_truth_directory(synthetic_root, tiny_checkpoint):
    gt = os.path.join(synthetic_root, 'SegmentationClass')
    before = sorted(os.listdir(gt))
    res = make(tiny_checkpoint, gt, synthetic_root, check=False)
    assert res.returncode != 0 and 'ground-truth' in res.stderr
    assert sorted(os.listdir(gt)) == before


def test_hook_under_two_cpu_processes_writes_each_image_once(synthetic_root, tmp_path):
    config = tmp_path / 'with_hook.py'
    config.write_text(f'_base_ = {CONFIG!r}\n'
                      "custom_hooks = [dict(type='PseudoLabelHook', scales=(1.0, ), flip=False)]\n")
    env = dict(os.environ, PORT=free_port(), PYTHON=sys.executable, OMP_NUM_THREADS='1')

    work_dirs = [tmp_path / 'run', tmp_path / 'retry']

    def train(attempt):
        return subprocess.run(['bash', 'tools/dist_train.sh', str(config), '2', '--work-dir',
                               str(work_dirs[attempt]), '--cfg-options',
                               *opts(synthetic_root)], cwd=ROOT, capture_output=True, text=True,
                              timeout=600, env=env)

    res = retry_on_rank_abort(train)
    work_dir = work_dirs[1] if work_dirs[1].exists() else work_dirs[0]  # after a retry
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'pseudo-labels: wrote 8 + 8 = 16 images on 2 rank(s), each once' in log
    assert len(output_files(work_dir / 'pseudo_labels' / 'cam')) == 16
    assert re.search(r'pseudo-labels cam\s+J [0-9.]+  F [0-9.]+  J&F [0-9.]+', log)


def test_hook_reads_threshold_search_and_label_crf_from_the_config(monkeypatch, tmp_path):
    """The hook builds its generator with the config's ``pseudo_label_cfg`` as the tool does:
    ``bg_search`` and a ``label_crf`` dict (Spatial-BCE), ``'adaptive'`` from the model's
    ``test_cfg`` dropping the search, and its own ``bg_threshold`` overriding the search."""
    from types import SimpleNamespace

    from mmengine.config import Config

    from mmseg_hfpl.engine.hooks import pseudo_label_hook as module
    captured = []

    class Generator:
        def __init__(self, model, out_dir, **kwargs):
            captured.append(kwargs)

        def run(self, *args, **kwargs):
            return {}

    monkeypatch.setattr(module, 'PseudoLabelGenerator', Generator)
    monkeypatch.setattr(module, 'dataset_items', lambda ds: [])
    monkeypatch.setattr(module.DATASETS, 'build',
                        lambda cfg: SimpleNamespace(metainfo=dict(classes=('bg', 'a'))))
    crf = dict(gt_prob=0.7, iterations=10, gaussian=(3, 3), bilateral=(40, 5, 10))

    def run(test_cfg, hook_args=None):
        cfg = Config(dict(model=dict(test_cfg=test_cfg), train_dataloader=dict(dataset={}),
                          pseudo_label_cfg=dict(bg_search=[0.2, 0.3], label_crf=crf)))
        model = SimpleNamespace(bg_threshold=0.25, train=lambda: None)
        runner = SimpleNamespace(model=model, cfg=cfg, work_dir=str(tmp_path),
                                 logger=SimpleNamespace(info=lambda msg: None))
        module.PseudoLabelHook(**(hook_args or {})).after_train(runner)
        return captured[-1]

    fixed = run(dict(threshold='fixed'))
    assert fixed['threshold'] == 'fixed' and fixed['bg_search'] == [0.2, 0.3]
    assert fixed['label_crf'] == crf
    adaptive = run(dict(threshold='adaptive'))
    assert adaptive['threshold'] == 'adaptive' and adaptive['bg_search'] is None
    assert run({}, dict(bg_threshold=0.3))['bg_search'] is None
    own = dict(gt_prob=0.9)
    assert run({}, dict(label_crf=own))['label_crf'] == own
