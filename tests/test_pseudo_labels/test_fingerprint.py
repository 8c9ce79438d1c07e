"""Output directories carry what made them: a rerun resumes the same settings only."""
import hashlib
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mmseg_hfpl.pseudo_labels.fingerprint import (StaleOutputError, check_fingerprints,
                                                  model_fingerprint, read_fingerprint,
                                                  write_fingerprints)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_model_fingerprint_changes_with_any_parameter():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    before = model_fingerprint(model)
    assert before == model_fingerprint(model)
    copy = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    copy.load_state_dict(model.state_dict())
    assert model_fingerprint(copy) == before  # the same weights, wherever they came from
    with torch.no_grad():
        model[0].bias[2] += 1e-6
    assert model_fingerprint(model) != before
    model[1].num_batches_tracked += 1  # buffers count too
    assert model_fingerprint(model) != before


def test_check_fingerprints_resumes_same_and_refuses_other_settings(tmp_path):
    d = str(tmp_path / 'cam')
    fp = {d: dict(kind='cam', bg_threshold=0.3, scales=(1.0, 0.5))}
    check_fingerprints(fp, overwrite=False)  # nothing there yet
    write_fingerprints(fp)
    open(osp.join(d, 'a.png'), 'wb').write(b'x')
    check_fingerprints(fp, overwrite=False)  # same settings (tuples read back as lists): resume
    other = {d: dict(kind='cam', bg_threshold=0.9, scales=(1.0, 0.5))}
    with pytest.raises(StaleOutputError, match=r'cam already holds .*bg_threshold: 0.3 -> 0.9'):
        check_fingerprints(other, overwrite=False)
    check_fingerprints(other, overwrite=True)
    os.remove(osp.join(d, '.fingerprint.json'))
    with pytest.raises(StaleOutputError, match='no fingerprint'):
        check_fingerprints(fp, overwrite=False)
    assert open(osp.join(d, 'a.png'), 'rb').read() == b'x'  # nothing was touched


def _md5s(directory):
    return {f: hashlib.md5(open(osp.join(directory, f), 'rb').read()).hexdigest()
            for f in sorted(os.listdir(directory)) if f.endswith('.png')}


def test_rerun_with_another_threshold_refuses_then_overwrites(tiny_checkpoint, synthetic_root,
                                                              tmp_path):
    out = tmp_path / 'pl'
    opts = [f'{k}.dataset.data_root={synthetic_root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]

    def run(*extra):
        return subprocess.run([sys.executable, 'tools/make_pseudo_labels.py',
                               'tests/data/tiny_cam.py', tiny_checkpoint, '--out', str(out),
                               '--scales', '1.0', *extra, '--cfg-options', *opts], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)

    assert run('--bg-threshold', '0.3').returncode == 0
    labels = _md5s(out / 'cam')
    again = run('--bg-threshold', '0.3')  # same settings: every image is skipped, then scored
    assert again.returncode == 0 and '16 of 16 images already done with the same settings' in \
        again.stdout + again.stderr
    stale = run('--bg-threshold', '0.9')
    assert stale.returncode != 0 and 'StaleOutputError' in stale.stderr
    assert f'{out / "cam"} already holds' in stale.stderr and 'bg_threshold' in stale.stderr
    assert _md5s(out / 'cam') == labels  # nothing was changed
    assert read_fingerprint(str(out / 'cam'))['bg_threshold'] == 0.3
    redo = run('--bg-threshold', '0.9', '--overwrite')
    assert redo.returncode == 0 and _md5s(out / 'cam') != labels
    assert read_fingerprint(str(out / 'cam'))['bg_threshold'] == 0.9
    # the CAMs themselves did not depend on the threshold: their fingerprint is unchanged
    assert read_fingerprint(str(out / 'cams'))['kind'] == 'cams'
