"""mmengine's local checkpoint loader after ``import mmseg_hfpl``: ``weights_only=True`` with the
types of an mmengine checkpoint allowed, anything else refused by name (the resume itself:
tests/test_engine/test_tools.py::test_resume_continues_exactly)."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import CheckpointLoader

from mmseg_hfpl.engine import CheckpointError, load_checkpoint_checked
from mmseg_hfpl.engine.checkpoint_compat import TRUST_ENV

CALLS = []


def record(what):
    CALLS.append(what)
    return what


class Payload:
    """An object whose unpickling runs code (a call that records itself)."""

    def __reduce__(self):
        return (record, ('unpickled',))


def mmengine_like_checkpoint(path):
    """What mmengine 0.10.7's Runner.save_checkpoint writes: a MessageHub state with
    HistoryBuffers of numpy values next to the weights."""
    hub = MessageHub.get_instance('checkpoint_compat_test')
    for step, loss in enumerate((np.float32(0.5), np.float64(0.25), 0.125)):
        hub.update_scalar('train/loss', loss)
        hub.update_scalar('train/lr', np.float64(0.01 / (step + 1)))
    hub.update_info('iter', 3)
    model = torch.nn.Linear(2, 1)
    torch.save(dict(meta=dict(iter=3, seed=np.int64(0)), state_dict=model.state_dict(),
                    message_hub=hub.state_dict()), path)
    return model


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'iter_3.pth')
    model = mmengine_like_checkpoint(path)
    # the plain torch >= 2.6 loader refuses it: the case the registered loader handles
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(path)
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert buffer.current() == 0.125 and buffer.mean() == pytest.approx((0.5 + 0.25 + 0.125) / 3)
    assert ckpt['message_hub']['runtime_info']['iter'] == 3 and ckpt['meta']['seed'] == 0
    assert torch.equal(ckpt['state_dict']['weight'], model.weight)


def test_other_pickled_objects_are_refused_unless_trusted(tmp_path, monkeypatch):
    path = str(tmp_path / 'payload.pth')
    torch.save(dict(state_dict=torch.nn.Linear(2, 1).state_dict(), extra=Payload()), path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    CALLS.clear()
    with pytest.raises(pickle.UnpicklingError, match=f'(?s){path}.*{TRUST_ENV}=1'):
        CheckpointLoader.load_checkpoint(path)
    with pytest.raises(CheckpointError, match=path):
        load_checkpoint_checked(torch.nn.Linear(2, 1), path)
    assert CALLS == []  # nothing in the file ran
    monkeypatch.setenv(TRUST_ENV, '1')
    assert CheckpointLoader.load_checkpoint(path)['extra'] == 'unpickled'
    assert CALLS == ['unpickled']
