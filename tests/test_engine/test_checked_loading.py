"""tools/test.py and tools/train.py load checkpoints through HFPLRunner's checked loader: an empty
file, NaN weights and a checkpoint of another model are refused naming the file; datasets and
model must agree on the number of classes."""
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, 'tests', 'data', 'tiny_cam.py')
STAGE3 = os.path.join(ROOT, 'configs', 'stage3', 'deeplabv3plus_r18tiny_synthetic-pseudo.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def data_options(root):
    return [f'{k}.dataset.data_root={root}' for k in LOADERS]


def run_tool(*args):
    res = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    return res.returncode, res.stdout + res.stderr


def _bad_checkpoint(kind, good, path):
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'nan':
        ckpt = torch.load(good, weights_only=False)
        key = 'decode_head.conv_seg.weight'
        ckpt['state_dict'][key] = torch.full_like(ckpt['state_dict'][key], float('nan'))
        torch.save(ckpt, path)
    else:  # the (untrained) stage-3 DeepLabV3+ of the same dataset: another model
        cfg = Config.fromfile(STAGE3)
        torch.save(dict(meta=dict(iter=0), state_dict=MODELS.build(cfg.model).state_dict()),
                   path)
    return str(path)


@pytest.mark.parametrize('kind,expect', [
    ('empty', 'is empty'),
    ('nan', 'non-finite (NaN / Inf) values in 1 tensor(s): decode_head.conv_seg.weight'),
    ('other', 'does not match the CAMSegmentor'),
])
def test_test_py_refuses_bad_checkpoints_naming_the_file(synthetic_root, tiny_checkpoint,
                                                         tmp_path, kind, expect):
    path = _bad_checkpoint(kind, tiny_checkpoint, tmp_path / f'{kind}.pth')
    rc, log = run_tool('tools/test.py', CONFIG, path, '--work-dir', str(tmp_path / 'w'),
                       '--cfg-options', *data_options(synthetic_root))
    assert rc != 0
    line = [ln for ln in log.splitlines() if ln.startswith('mmseg_hfpl.engine.checkpoint_check.'
                                                           'CheckpointError')]
    assert line, log[-3000:]
    assert repr(path) in line[-1] and expect in line[-1], line[-1]
    assert 'J&F:' not in log  # nothing was scored
    if kind == 'other':  # the keys of the other heads and the other widths are listed
        assert '93 keys are not in the model: auxiliary_head.conv_seg.bias' in line[-1]
        assert '111 shapes differ (checkpoint vs model): backbone.layer1.0.bn1.bias (16,) vs ' \
            '(8,)' in line[-1]


def test_allow_partial_loads_the_keys_that_fit(synthetic_root, tiny_checkpoint, tmp_path):
    ckpt = torch.load(tiny_checkpoint, weights_only=False)
    ckpt['state_dict']['extra.weight'] = torch.zeros(1)  # a key the model does not have
    path = tmp_path / 'extra.pth'
    torch.save(ckpt, path)
    args = ['tools/test.py', CONFIG, str(path), '--work-dir', str(tmp_path / 'w'),
            '--cfg-options', *data_options(synthetic_root)]
    rc, log = run_tool(*args)
    assert rc != 0 and '1 keys are not in the model: extra.weight' in log, log[-3000:]
    rc, log = run_tool(*args, '--allow-partial')
    assert rc == 0, log[-3000:]
    assert 'loading the keys that fit' in log and 'J&F:' in log


def test_train_py_load_from_and_resume_are_checked(synthetic_root, tiny_checkpoint, tmp_path):
    nan = _bad_checkpoint('nan', tiny_checkpoint, tmp_path / 'nan.pth')
    base = ['tools/train.py', CONFIG, '--cfg-options', *data_options(synthetic_root)]
    rc, log = run_tool(*base[:2], '--work-dir', str(tmp_path / 'a'), *base[2:],
                       f'load_from={nan}')
    assert rc != 0 and f"checkpoint {nan!r} holds non-finite" in log, log[-3000:]
    work = tmp_path / 'b'  # --resume takes the latest checkpoint of the work dir
    work.mkdir()
    empty = _bad_checkpoint('empty', tiny_checkpoint, work / 'iter_2.pth')
    (work / 'last_checkpoint').write_text(empty)
    rc, log = run_tool(*base[:2], '--work-dir', str(work), '--resume', *base[2:])
    assert rc != 0 and f'checkpoint {empty!r} is empty' in log, log[-3000:]
    assert not (work / 'iter_4.pth').exists()


def test_class_count_mismatch_names_num_classes(synthetic_root, tmp_path):
    rc, log = run_tool('tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--cfg-options',
                       *data_options(synthetic_root), 'model.decode_head.num_classes=21')
    assert rc != 0
    assert ('model.decode_head.num_classes is 21 but the train dataset (WSSSVOCDataset) has 6 '
            'classes') in log, log[-3000:]


def test_skipping_images_of_an_evaluated_set_is_refused(synthetic_root, tmp_path):
    from mmseg.registry import RUNNERS
    cfg = Config.fromfile(CONFIG)
    for key in LOADERS:
        cfg[key].dataset.data_root = synthetic_root
    cfg.work_dir = str(tmp_path)
    cfg.test_dataloader.dataset.truncated_images = 'skip'  # test_mode is not set in the config
    with pytest.raises(ValueError, match="test_dataloader.dataset: truncated_images='skip' is "
                       'for training sets only'):
        RUNNERS.build(cfg).test()
