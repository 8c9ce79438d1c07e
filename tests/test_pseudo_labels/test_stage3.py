"""Stage 3: a segmentor trained on pseudo-labels of the synthetic set, scored with J / F."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_segmentor_trains_on_pseudo_labels(synthetic_root, tiny_checkpoint, tmp_path):
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]
    res = subprocess.run([sys.executable, 'tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py',
                          tiny_checkpoint, '--out', str(tmp_path / 'pl'), '--scales', '1.0',
                          '--cfg-options', *opts], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    res = subprocess.run([
        sys.executable, 'tools/train.py', 'configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
        '--work-dir', str(tmp_path / 'seg'), '--cfg-options', *opts,
        f'pseudo_label_dir={tmp_path / "pl" / "cam"}',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'param_scheduler.0.end=4',
        'train_dataloader.batch_size=4', 'default_hooks.logger.interval=1'
    ], cwd=ROOT, capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'decode.loss_ce' in log  # a fully supervised loss on the pseudo-label maps
    line = [ln for ln in log.splitlines() if 'J&F:' in ln][-1]
    m = dict(re.findall(r'\b(J|F|J&F): ([0-9.]+)', line))
    assert set(m) == {'J', 'F', 'J&F'} and '[4/4]' in line  # scored on the 4 `val` images


def test_segmentor_scored_with_and_without_the_test_time_crf(synthetic_root, tmp_path):
    """tools/test.py <stage-3 config> CKPT [--tta] [--cfg-options test_crf=True] reports J, F
    and J&F of the network's and of the CRF-refined predictions (a checkpoint of the initialised
    segmentor: the weights reach the segmentor inside the CRF and TTA wrappers)."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    config = 'configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py'
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()  # Kaiming: predictions that vary over the image
    ckpt = str(tmp_path / 'init.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]
    scores = {}
    for name, extra in (('plain', []), ('crf', ['test_crf=True']),
                        ('tta_crf', ['test_crf=True', 'crf_model.workers=2'])):
        tta = ['--tta'] if name == 'tta_crf' else []
        res = subprocess.run([sys.executable, 'tools/test.py', config, ckpt, *tta, '--work-dir',
                              str(tmp_path / name), '--cfg-options', *opts, *extra], cwd=ROOT,
                             capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, OMP_NUM_THREADS='1'))
        log = res.stdout + res.stderr
        assert res.returncode == 0, log[-3000:]
        assert 'missing keys' not in log and 'unexpected key' not in log
        assert ('test-time dense CRF on the predictions' in log) == (name != 'plain')
        line = [ln for ln in log.splitlines() if 'J&F:' in ln][-1]
        m = dict(re.findall(r'\b(J|F|J&F): ([0-9.]+)', line))
        assert set(m) == {'J', 'F', 'J&F'} and '[4/4]' in line  # the 4 `val` images
        assert float(m['J&F']) == pytest.approx((float(m['J']) + float(m['F'])) / 2, abs=0.01)
        scores[name] = m
    assert scores['crf'] != scores['plain']  # the CRF changed the scored predictions
