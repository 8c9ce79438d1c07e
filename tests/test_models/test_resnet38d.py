"""ResNet-38: the official structure (names, shapes, strides) and the MXNet weight converter."""
import os.path as osp
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmseg_hfpl.models.backbones.mxnet_params import (V1_MAGIC, V2_MAGIC, load_mxnet_params,
                                                      resnet38_key)
from mmseg_hfpl.models.backbones.resnet38d import ResNet38d

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_full_network_matches_the_official_definition():
    net = ResNet38d(out_indices=(0, 1, 2, 3)).eval()
    sd = net.state_dict()
    # widths and kernels of the PSA / SEAM resnet38d.Net, spot-checked layer by layer
    expected = {
        'conv1a.weight': (64, 3, 3, 3),
        'b2.conv_branch2a.weight': (128, 64, 3, 3),
        'b2.conv_branch1.weight': (128, 64, 1, 1),
        'b3_2.conv_branch2b1.weight': (256, 256, 3, 3),
        'b4.conv_branch2a.weight': (512, 256, 3, 3),
        'b4_5.conv_branch2b1.weight': (512, 512, 3, 3),
        'b5.conv_branch2a.weight': (512, 512, 3, 3),
        'b5.conv_branch2b1.weight': (1024, 512, 3, 3),
        'b5_2.conv_branch2a.weight': (512, 1024, 3, 3),
        'b6.conv_branch2a.weight': (512, 1024, 1, 1),
        'b6.conv_branch2b1.weight': (1024, 512, 3, 3),
        'b6.conv_branch2b2.weight': (2048, 1024, 1, 1),
        'b6.conv_branch1.weight': (2048, 1024, 1, 1),
        'b7.conv_branch2b1.weight': (2048, 1024, 3, 3),
        'b7.conv_branch2b2.weight': (4096, 2048, 1, 1),
        'bn7.running_var': (4096, ),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    # identity shortcuts exactly where the official blocks have the same shape
    assert not hasattr(net.b2_1, 'conv_branch1') and not hasattr(net.b5_1, 'conv_branch1')
    assert hasattr(net.b5, 'conv_branch1') and hasattr(net.b7, 'conv_branch1')
    # dilations: b5 first conv 1 then 2, b5_x 2, b6/b7 4; strides 2 in b2, b3, b4 only
    assert net.b5.conv_branch2a.dilation == (1, 1) and net.b5.conv_branch2b1.dilation == (2, 2)
    assert net.b5_1.conv_branch2a.dilation == (2, 2)
    assert net.b6.conv_branch2b1.dilation == (4, 4) and net.b7.conv_branch2b1.dilation == (4, 4)
    assert [m.stride for m in (net.b2.conv_branch2a, net.b3.conv_branch2a, net.b4.conv_branch2a,
                               net.b5.conv_branch2a)] == [(2, 2), (2, 2), (2, 2), (1, 1)]
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 64, 80))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 20), (1, 512, 8, 10),
                                              (1, 1024, 8, 10), (1, 4096, 8, 10)]
    assert (outs[3] >= 0).all()  # conv6 is after bn7 + ReLU


def test_frozen_parts_and_norm_eval_follow_seam():
    net = ResNet38d(base_channels=8, frozen_stages=1)
    net.train()
    frozen = {n.split('.')[0] for n, p in net.named_parameters() if not p.requires_grad}
    trainable = {n.split('.')[0] for n, p in net.named_parameters() if p.requires_grad}
    assert {'conv1a', 'b2', 'b2_1', 'b2_2'} <= frozen
    assert 'b3' in trainable and 'b7' in trainable
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(not m.training for m in bns)  # norm_eval
    assert all(not m.weight.requires_grad for m in bns)  # frozen affine parameters
    x = torch.randn(2, 3, 32, 32)
    net.b3.conv_branch2a.weight.grad = None
    net(x)[-1].sum().backward()
    assert net.b3.conv_branch2a.weight.grad.abs().sum() > 0
    assert net.conv1a.weight.grad is None


# ---- a writer of the MXNet NDArray list format, for the tests only -------------------------

def _write_params(path, arrays, version='v2'):
    out = [struct.pack('<QQQ', 0x112, 0, len(arrays))]
    for arr in arrays.values():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if version == 'v2':
            out.append(struct.pack('<Ii', V2_MAGIC, 0))
            out.append(struct.pack(f'<I{arr.ndim}q', arr.ndim, *arr.shape))
        elif version == 'v1':
            out.append(struct.pack(f'<II{arr.ndim}q', V1_MAGIC, arr.ndim, *arr.shape))
        else:  # legacy: ndim and uint32 dims, no magic
            out.append(struct.pack(f'<I{arr.ndim}I', arr.ndim, *arr.shape))
        out.append(struct.pack('<iii', 1, 0, 0))  # cpu(0), float32
        out.append(arr.tobytes())
    out.append(struct.pack('<Q', len(arrays)))
    for name in arrays:
        out.append(struct.pack('<Q', len(name)) + name.encode())
    with open(path, 'wb') as f:
        f.write(b''.join(out))


def _mxnet_name(key):
    """The MXNet name of a ResNet38d parameter (the naming of ilsvrc-cls_rna-a1_cls1000)."""
    module, field = key.rsplit('.', 1)
    if module == 'conv1a':
        return 'arg:conv1a_weight'
    bn_field = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'moving_mean',
                'running_var': 'moving_var'}[field] if field != 'weight' or 'bn' in key else None
    if module == 'bn7':
        return ('aux:' if 'running' in field else 'arg:') + f'bn7_{bn_field}'
    block, layer = module.split('.')
    stage, _, index = block[1:].partition('_')
    unit = f'{stage}a' if not index else f'{stage}b{index}'
    kind, branch = layer.split('_', 1)
    if kind == 'conv':
        return f'arg:res{unit}_{branch}_weight'
    return ('aux:' if 'running' in field else 'arg:') + f'bn{unit}_{branch}_{bn_field}'


def test_key_mapping_examples():
    assert resnet38_key('arg:res4b3_branch2a_weight') == 'b4_3.conv_branch2a.weight'
    assert resnet38_key('arg:res2a_branch1_weight') == 'b2.conv_branch1.weight'
    assert resnet38_key('aux:bn5b2_branch2b1_moving_var') == 'b5_2.bn_branch2b1.running_var'
    assert resnet38_key('arg:bn7_gamma') == 'bn7.weight'
    assert resnet38_key('arg:linear1000_weight') is None
    with pytest.raises(KeyError, match='fc9_weight'):
        resnet38_key('arg:fc9_weight')


@pytest.mark.parametrize('version', ['v2', 'v1', 'legacy'])
def test_reader_round_trips_each_format(tmp_path, version):
    rng = np.random.default_rng(0)
    arrays = {'arg:a_weight': rng.normal(size=(3, 2, 1, 1)).astype(np.float32),
              'aux:b_moving_var': rng.random(5).astype(np.float32)}
    path = str(tmp_path / 'x.params')
    _write_params(path, arrays, version)
    loaded = load_mxnet_params(path)
    assert list(loaded) == list(arrays)
    for k in arrays:
        np.testing.assert_array_equal(loaded[k], arrays[k])


def test_reader_names_the_problem(tmp_path):
    path = str(tmp_path / 'bad.params')
    _write_params(path, {'arg:a': np.ones((2, 2), np.float32)})
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:40])
    with pytest.raises(ValueError, match='bad.params: truncated'):
        load_mxnet_params(path)
    open(path, 'wb').write(b'\x00' * 24)
    with pytest.raises(ValueError, match='not an MXNet NDArray list'):
        load_mxnet_params(path)


def test_converter_round_trips_a_network(tmp_path):
    src_net = ResNet38d(base_channels=8)
    state = {k: v for k, v in src_net.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    for i, v in enumerate(state.values()):  # distinct, non-default values everywhere
        v.copy_(torch.linspace(-1, 1, v.numel()).view_as(v) + i)
    arrays = {_mxnet_name(k): v.numpy() for k, v in state.items()}
    arrays['arg:linear1000_weight'] = np.zeros((1000, 512), np.float32)  # dropped
    src, dst = str(tmp_path / 'r38.params'), str(tmp_path / 'r38.pth')
    _write_params(src, arrays, 'v2')
    cmd = [sys.executable, 'tools/convert_resnet38_mxnet.py', src, dst, '--base-channels', '8']
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    net = ResNet38d(base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=dst))
    net.init_weights()
    for k, v in net.state_dict().items():
        if k in state:
            torch.testing.assert_close(v, state[k], rtol=0, atol=0, msg=k)
    # an existing output is never overwritten without --overwrite
    before = open(dst, 'rb').read()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and 'exists' in res.stderr
    assert open(dst, 'rb').read() == before
    # a file of the wrong width is rejected with the offending key
    res = subprocess.run(cmd[:-1] + ['16', '--overwrite'], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode != 0 and 'conv1a.weight has shape (8, 3, 3, 3)' in res.stderr
    assert open(dst, 'rb').read() == before


def test_missing_imagenet_weights_point_to_the_converter(tmp_path):
    path = str(tmp_path / 'pretrain' / 'resnet38d_ilsvrc.pth')
    net = ResNet38d(base_channels=8, init_cfg=dict(type='Pretrained', checkpoint=path))
    with pytest.raises(FileNotFoundError, match='resnet38d_ilsvrc.pth.*convert_resnet38_mxnet.py'):
        net.init_weights()
