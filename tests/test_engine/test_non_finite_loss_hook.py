"""NonFiniteLossHook: every training stops at its first NaN / Inf loss, saving nothing of it."""
import glob
import math
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.runner.priority import get_priority
from mmseg.registry import RUNNERS
from PIL import Image

from mmseg_hfpl.engine import HFPLRunner, NonFiniteLossError, NonFiniteLossHook
from mmseg_hfpl.engine.hooks.non_finite_loss_hook import non_finite_terms
from tests.utils import LOADERS, short_training_options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = sorted(c for c in glob.glob(os.path.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '/_base_/' not in c and '/studies/' not in c and '/pipelines/' not in c)
STAGE3 = 'configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py'
AFFINITY = 'configs/affinity/affinitynet_r18tiny_synthetic.py'


def _affinity_crf_from_masks(root, out):
    """``aff_crf/<name>.npz`` (float16 ``low`` / ``high`` (N, H, W), background first) that
    AffinityNet's pipeline reads, made from the real masks (one-hot) of the train split."""
    out.mkdir()
    names = open(os.path.join(root, 'ImageSets', 'Segmentation', 'train.txt')).read().split()
    for name in names:
        mask = np.asarray(Image.open(os.path.join(root, 'SegmentationClass', name + '.png')))
        onehot = (mask[None] == np.arange(6)[:, None, None]).astype(np.float16)
        np.savez(out / f'{name}.npz', low=onehot, high=onehot)
    return str(out)


def _fake_runner(iteration=4, lr=0.5):
    optim = SimpleNamespace(get_lr=lambda: {'lr': [lr, 10 * lr]})
    return SimpleNamespace(iter=iteration, optim_wrapper=optim)


def test_non_finite_terms_are_the_loss_keys_that_are_not_finite():
    log_vars = {'loss': torch.tensor(float('nan')), 'decode.loss_ce': torch.tensor(float('nan')),
                'aux.loss_ce': torch.tensor(0.7), 'decode.acc_seg': torch.tensor(float('nan')),
                'loss_aff_fg': float('inf')}
    bad = non_finite_terms(log_vars)
    assert list(bad) == ['loss', 'decode.loss_ce', 'loss_aff_fg']  # acc_seg is no loss
    assert math.isnan(bad['decode.loss_ce']) and bad['loss_aff_fg'] == math.inf
    assert non_finite_terms({'loss': torch.tensor(1.5), 'loss_x': 2.0}) == {}


def test_hook_names_term_iteration_and_lr_and_refuses_to_save():
    hook = NonFiniteLossHook()
    runner = _fake_runner(iteration=4, lr=0.5)
    hook.after_train_iter(runner, 4, outputs={'loss': torch.tensor(1.0)})  # finite: nothing
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(runner, 4, outputs={'loss': torch.tensor(float('inf')),
                                                  'loss_cls': torch.tensor(float('inf')),
                                                  'loss_reg': torch.tensor(0.1)})
    msg = str(err.value)
    assert 'non-finite loss: loss=inf, loss_cls=inf at iteration 5' in msg
    assert 'learning rate 0.5, 5' in msg and 'loss_reg' not in msg
    # weights that became NaN in an update whose loss was finite: no checkpoint of them
    state = {'head.weight': torch.tensor([1.0, float('nan')]), 'head.bias': torch.zeros(2)}
    hook.before_save_checkpoint(runner, {'state_dict': {'head.bias': torch.zeros(2)}})
    with pytest.raises(NonFiniteLossError, match=r'head\.weight \(1 of 2 values\).*iteration 5'):
        hook.before_save_checkpoint(runner, {'state_dict': state})
    # it runs before the checkpoint hook in after_train_iter
    assert get_priority(NonFiniteLossHook.priority) < get_priority(CheckpointHook.priority)


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(c, ROOT) for c in CONFIGS])
def test_every_config_trains_with_the_guard(path):
    cfg = Config.fromfile(path)
    guarded = cfg.get('runner_type') == 'HFPLRunner' or 'non_finite' in cfg.get(
        'default_hooks', {})
    assert guarded, (f"{path}: add runner_type = 'HFPLRunner' (or default_hooks = "
                     "dict(non_finite=dict(type='NonFiniteLossHook'))) to the config")


def test_runner_registers_the_guard_before_the_checkpoint_hook(tmp_path):
    cfg = Config.fromfile(os.path.join(ROOT, STAGE3))
    cfg.work_dir = str(tmp_path / 'w')
    cfg.custom_hooks = [dict(type='CAMVisualizationHook', num_images=1)]  # lists are replaced
    runner = RUNNERS.build(cfg)
    assert isinstance(runner, HFPLRunner)
    names = [type(h).__name__ for h in runner.hooks]
    assert 'CAMVisualizationHook' in names
    assert names.index('NonFiniteLossHook') < names.index('CheckpointHook')
    assert names.count('NonFiniteLossHook') == 1
    cfg.default_hooks['non_finite'] = None  # the way to switch it off
    cfg.work_dir = str(tmp_path / 'off')
    names = [type(h).__name__ for h in RUNNERS.build(cfg).hooks]
    assert 'NonFiniteLossHook' not in names and 'CheckpointHook' in names


@pytest.mark.parametrize('config,term', [(STAGE3, 'decode.loss_ce'), (AFFINITY, 'loss_aff')])
def test_training_at_lr_1e10_stops_naming_the_loss_without_checkpoint(synthetic_root, tmp_path,
                                                                      config, term):
    work = tmp_path / 'work'
    loaders = LOADERS if config == STAGE3 else LOADERS[:1]  # AffinityNet is not validated
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in loaders]
    opts += [f'{k}.num_workers=0' for k in loaders] + [
        f'{k}.persistent_workers=False' for k in loaders]
    masks = os.path.join(synthetic_root, 'SegmentationClass')  # the real masks as labels
    if config == AFFINITY:
        masks = _affinity_crf_from_masks(synthetic_root, tmp_path / 'aff_crf')
    opts += [f'pseudo_label_dir={masks}',
             f'train_dataloader.dataset.data_prefix.seg_map_path={masks}',
             'train_dataloader.batch_size=4', 'optim_wrapper.optimizer.lr=1e10']
    opts += short_training_options(6)
    res = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work),
                          '--cfg-options', *opts], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode != 0, log[-3000:]
    lines = [ln for ln in log.splitlines() if 'NonFiniteLossError:' in ln]
    assert lines, log[-3000:]
    line = lines[-1]
    m = re.search(r'non-finite loss: (.*) at iteration (\d+), learning rate '
                  r'([0-9][0-9.e+-]*[0-9])', line)
    assert m, line
    assert term in m.group(1) and re.search(r'=(nan|inf|-inf)\b', m.group(1)), line
    assert 1 <= int(m.group(2)) <= 6 and float(m.group(3)) > 1e9, line
    assert glob.glob(str(work / '**' / '*.pth'), recursive=True) == []
    assert not os.path.exists(work / 'last_checkpoint')


@pytest.mark.parametrize('config', ['configs/cam/cam_r18_demo_synthetic.py',
                                    'configs/hfpl/demo_synthetic.py'])
def test_cam_configs_at_lr_1e10_stop_with_non_finite_loss_error(synthetic_root, tmp_path,
                                                                config):
    """The losses that refuse NaN / Inf class scores (GAP, ISL, FSL) end in the same
    NonFiniteLossError as a NaN loss (term, iteration, learning rate), not a ValueError."""
    work = tmp_path / 'work'
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in LOADERS]
    opts += [f'{k}.num_workers=0' for k in LOADERS] + [
        f'{k}.persistent_workers=False' for k in LOADERS]
    opts += ['train_dataloader.batch_size=4', 'optim_wrapper.optimizer.lr=1e10']
    opts += short_training_options(6)
    res = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(work),
                          '--cfg-options', *opts], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode != 0, log[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith(  # the error the run ends with
        'mmseg_hfpl.engine.hooks.non_finite_loss_hook.NonFiniteLossError:'), log[-3000:]
    m = re.search(r'non-finite loss: (.*) at iteration (\d+), learning rate '
                  r'([0-9][0-9.e+-]*[0-9])', lines[-1])
    assert m, lines[-1]
    assert re.search(r'loss_(gap|isl|fsl)[^,]*=(nan|inf|-inf)\b', m.group(1)), lines[-1]
    assert 1 <= int(m.group(2)) <= 6 and float(m.group(3)) > 1e9, lines[-1]
    assert glob.glob(str(work / '**' / '*.pth'), recursive=True) == []
