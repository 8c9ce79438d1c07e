"""load_checkpoint_checked / assert_finite_parameters: bad checkpoints are refused by name."""
import hashlib
import re

import pytest
import torch
from torch import nn

from mmseg_hfpl.engine import CheckpointError, assert_finite_parameters, load_checkpoint_checked


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def _save(path, model, **extra):
    torch.save(dict(meta=dict(iter=7), state_dict=model.state_dict(), **extra), path)
    return path


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def _unchanged(model, before):
    return all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_loads_a_matching_checkpoint_and_returns_it(tmp_path):
    src = _model(seed=1)
    path = _save(tmp_path / 'iter_7.pth', src)
    dst = _model(seed=2)
    assert not torch.equal(dst[0].weight, src[0].weight)
    ckpt = load_checkpoint_checked(dst, str(path))
    assert ckpt['meta'] == dict(iter=7)
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    # a DDP-style 'module.' prefix and a plain state dict load the same
    torch.save({f'module.{k}': v for k, v in src.state_dict().items()}, tmp_path / 'plain.pth')
    dst = _model(seed=3)
    load_checkpoint_checked(dst, str(tmp_path / 'plain.pth'))
    assert torch.equal(dst[0].bias, src[0].bias)


@pytest.mark.parametrize('damage', ['empty', 'truncated', 'text'])
def test_unreadable_files_name_the_path(tmp_path, damage):
    path = _save(tmp_path / 'ckpt.pth', _model())
    data = path.read_bytes()
    path.write_bytes({'empty': b'', 'truncated': data[:len(data) // 2],
                      'text': b'not a checkpoint'}[damage])
    md5 = _md5(path)
    model = _model(seed=4)
    before = _snapshot(model)
    expect = 'is empty' if damage == 'empty' else 'cannot be read'
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + '.*' + expect):
        load_checkpoint_checked(model, str(path))
    assert _md5(path) == md5 and _unchanged(model, before)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_checked(model, str(tmp_path / 'missing.pth'))


def test_checkpoint_of_another_model_is_refused_unless_partial(tmp_path):
    other = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 4))  # '1.*' keys differ
    path = _save(tmp_path / 'other.pth', other)
    model = _model(seed=5)
    before = _snapshot(model)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_checked(model, str(path))
    msg = str(err.value)
    assert str(path) in msg and 'Sequential' in msg
    # BatchNorm1d's statistics are missing, the Linear(2, 4) tensors have other shapes
    assert ("3 of the model's keys are missing: 1.num_batches_tracked, 1.running_mean, "
            '1.running_var') in msg
    assert '2 shapes differ (checkpoint vs model): 1.bias (4,) vs (2,), 1.weight (4, 2) vs (2,)' \
        in msg
    assert 'not in the model' not in msg
    assert _unchanged(model, before)

    load_checkpoint_checked(model, str(path), allow_partial=True)
    assert torch.equal(model[0].weight, other[0].weight)  # the keys that fit are loaded
    assert torch.equal(model[1].running_var, before['1.running_var'])  # the rest is kept
    assert torch.equal(model[1].bias, before['1.bias'])  # shape (4,) vs (2,): skipped


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    src = _model()
    state = src.state_dict()
    state['extra.weight'] = torch.zeros(1)
    del state['1.running_mean']
    torch.save(dict(state_dict=state), tmp_path / 'ckpt.pth')
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_checked(_model(), str(tmp_path / 'ckpt.pth'))
    msg = str(err.value)
    assert "1 of the model's keys are missing: 1.running_mean" in msg
    assert '1 keys are not in the model: extra.weight' in msg


def test_non_finite_parameters_are_refused(tmp_path):
    src = _model()
    with torch.no_grad():
        src[0].weight[1, 2] = float('nan')
        src[1].running_var[0] = float('inf')
    path = _save(tmp_path / 'diverged.pth', src)
    model = _model(seed=6)
    before = _snapshot(model)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_checked(model, str(path))
    msg = str(err.value)
    assert str(path) in msg and 'non-finite' in msg
    assert '0.weight (1 of 6 values)' in msg and '1.running_var (1 of 2 values)' in msg
    assert _unchanged(model, before)  # refused before anything was loaded
    # check_finite=False loads it; assert_finite_parameters then refuses the model
    load_checkpoint_checked(model, str(path), check_finite=False)
    assert torch.isnan(model[0].weight[1, 2])
    with pytest.raises(CheckpointError, match=r'diverged\.pth.*0\.weight \(1 of 6 values\)'):
        assert_finite_parameters(model, str(path))
    assert_finite_parameters(_model(), 'fresh')  # a finite model passes
