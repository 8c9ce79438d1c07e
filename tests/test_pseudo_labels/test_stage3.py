"""Stage 3: a segmentor trained on pseudo-labels of the synthetic set, scored with J / F."""
import os
import re
import subprocess
import sys

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
