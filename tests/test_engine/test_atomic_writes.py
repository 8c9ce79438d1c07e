"""Atomic writes: a failed write (a full disk) leaves the old file as it was and no temporary
file; HFPLRunner saves checkpoints atomically."""
import errno
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.fileio.backends.local_backend import LocalBackend
from mmseg.registry import RUNNERS

import mmseg_hfpl.pseudo_labels.writer as writer
from mmseg_hfpl.engine import HFPLRunner
from mmseg_hfpl.fileio import atomic_path
from mmseg_hfpl.pseudo_labels.writer import write_label_png, write_npz

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device')


def test_atomic_path_replaces_on_success_and_cleans_up_on_failure(tmp_path):
    path = tmp_path / 'a.txt'
    path.write_text('old')
    with pytest.raises(OSError, match='No space left'):
        with atomic_path(str(path)) as tmp:
            open(tmp, 'w').write('half')  # a partial write, then the disk is full
            _disk_full()
    assert path.read_text() == 'old' and os.listdir(tmp_path) == ['a.txt']
    with atomic_path(str(path)) as tmp:
        open(tmp, 'w').write('new')
    assert path.read_text() == 'new' and os.listdir(tmp_path) == ['a.txt']


def test_pseudo_label_writers_leave_no_temporary_file(tmp_path, monkeypatch):
    write_npz(str(tmp_path / 'x.npz'), cam=np.ones(3, np.float16))

    def half_then_full(path, **arrays):
        open(path, 'wb').write(b'PK\x03\x04 partial')
        _disk_full()

    monkeypatch.setattr(writer.np, 'savez_compressed', half_then_full)
    with pytest.raises(OSError, match='No space left'):
        write_npz(str(tmp_path / 'x.npz'), cam=np.zeros(3, np.float16))
    assert os.listdir(tmp_path) == ['x.npz']
    assert np.load(tmp_path / 'x.npz')['cam'].tolist() == [1, 1, 1]  # the old file, whole
    monkeypatch.undo()
    monkeypatch.setattr(writer.Image.Image, 'save', _disk_full)
    with pytest.raises(OSError, match='No space left'):
        write_label_png(str(tmp_path / 'y.png'), np.zeros((4, 4), np.uint8))
    assert os.listdir(tmp_path) == ['x.npz']


def test_checkpoints_are_saved_atomically(synthetic_root, tmp_path, monkeypatch):
    cfg = Config.fromfile(os.path.join(ROOT, 'tests', 'data', 'tiny_cam.py'))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = synthetic_root
    cfg.work_dir = str(tmp_path / 'work')
    runner = RUNNERS.build(cfg)
    assert isinstance(runner, HFPLRunner)
    work = runner.work_dir
    save = dict(save_optimizer=False, save_param_scheduler=False)
    runner.save_checkpoint(work, 'iter_1.pth', **save)
    before = sorted(os.listdir(work))
    assert 'iter_1.pth' in before
    good = open(os.path.join(work, 'iter_1.pth'), 'rb').read()
    put = LocalBackend.put

    def half_then_full(self, obj, filepath):
        put(self, obj[:len(obj) // 2], filepath)
        _disk_full()

    monkeypatch.setattr(LocalBackend, 'put', half_then_full)
    with pytest.raises(OSError, match='No space left'):
        runner.save_checkpoint(work, 'iter_1.pth', **save)  # over the good one
    with pytest.raises(OSError, match='No space left'):
        runner.save_checkpoint(work, 'iter_2.pth', **save)
    assert sorted(os.listdir(work)) == before  # no truncated checkpoint, no temporary file
    assert open(os.path.join(work, 'iter_1.pth'), 'rb').read() == good
    monkeypatch.undo()
    runner.save_checkpoint(work, 'iter_2.pth', **save)
    ckpt = torch.load(os.path.join(work, 'iter_2.pth'), weights_only=False)
    assert set(ckpt['state_dict']) == set(runner.model.state_dict())
