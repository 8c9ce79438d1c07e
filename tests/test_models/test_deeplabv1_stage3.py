"""The stage-3 DeepLab-v1 ResNet-38 config against hfpl's train_final_voc.py / lib/net/deeplabv1.py
/ lib/net/backbone/resnet38d.py / voc12/config_voc2012.py: BN with batch statistics, momentum
3e-4 and fixed affine parameters; element-wise head dropout; the official lr / weight-decay
groups; Kaiming fan-out classifier init."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg_hfpl.engine.dist import sync_bn_to_bn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py')


@pytest.fixture(scope='module')
def stage3():
    """The config's model at CPU width (ResNet-38 base 8: conv6 512 channels), SyncBN as BN."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.base_channels = 8
    cfg.model.backbone.init_cfg = None
    cfg.model.decode_head.in_channels = 512
    sync_bn_to_bn(cfg.model)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def official_parameter_groups(model):
    """lib/net/deeplabv1.py:56-72 (get_parameter_groups): convolutions only; the head's
    convolutions (conv_fov, conv_fov2, cls_conv: from_scratch_layers, :30) to groups 2 / 3."""
    groups = ([], [], [], [])
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            scratch = name.startswith('decode_head.')
            groups[2 if scratch else 0].append(m.weight)
            if m.bias is not None:
                groups[3 if scratch else 1].append(m.bias)
    return groups


def test_optimiser_groups_are_the_official(stage3):
    cfg, model = stage3
    wd = 0.0005  # config_voc2012.py:34
    # train_final_voc.py:79-88: (lr multiple, weight decay) of groups 0-3
    official = [(1, wd), (2, 0), (10, wd), (20, 0)]
    expected = {}
    for (mult, decay), params in zip(official, official_parameter_groups(model)):
        expected.update({id(p): (mult, decay) for p in params})
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert optimizer.defaults['momentum'] == 0.9  # TRAIN_MOMENTUM, a keyword there
    got = {}
    for group in optimizer.param_groups:
        for p in group['params']:
            got[id(p)] = (group['lr'] / 1e-3, group['weight_decay'])
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k][0] == pytest.approx(expected[k][0]) and got[k][1] == expected[k][1]
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[k] for k, v in expected.items() if v[0] == 20} == {'decode_head.conv_seg.bias'}
    # the BN affine parameters are outside every optimiser group
    norm_params = {id(p) for m in model.modules() if isinstance(m, _BatchNorm)
                   for p in m.parameters()}
    assert norm_params and not norm_params & got.keys()


def test_bn_uses_batch_statistics_with_official_momentum(stage3):
    _, model = stage3
    model.train()
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert len(norms) == 37 + 2  # ResNet-38: 15 blocks x 2, b6 and b7 x 3, bn7; the head 2
    for m in norms:  # resnet38d.py:8 bn_mom, deeplabv1.py:22,24 TRAIN_BN_MOM
        assert m.momentum == 3e-4 and m.training and m.affine
        assert not m.weight.requires_grad and not m.bias.requires_grad
    bn = model.decode_head.fov[0].bn
    before = bn.running_mean.clone()
    x = torch.randn(2, 512, 6, 6)
    conv = model.decode_head.fov[0].conv(x)
    with torch.no_grad():
        out = bn(conv)
    mean = conv.mean((0, 2, 3))
    torch.testing.assert_close(bn.running_mean, (1 - 3e-4) * before + 3e-4 * mean)
    # normalised with the batch statistics (not the running ones)
    torch.testing.assert_close(out.mean((0, 2, 3)), bn.bias.expand(512), atol=1e-4, rtol=0)


def test_head_dropout_is_element_wise_and_init_kaiming_fan_out(stage3):
    _, model = stage3
    head = model.decode_head
    assert type(head.dropout) is nn.Dropout and head.dropout.p == 0.5  # deeplabv1.py:25
    head.dropout.train()
    torch.manual_seed(0)
    out = head.dropout(torch.ones(2, 8, 16, 16))
    kept = (out != 0).float().mean((2, 3))  # per (image, channel) plane
    assert ((kept > 0) & (kept < 1)).all()  # every plane mixed: not channel dropout
    assert set(out.unique().tolist()) == {0.0, 2.0}
    # deeplabv1.py:32-39: kaiming_normal_(fan_out, relu) on every head convolution; the
    # classifier bias keeps PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for conv, fan_out in ((head.fov[0].conv, 512 * 9), (head.fov[1].conv, 512),
                          (head.conv_seg, 21)):
        assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
    bias = head.conv_seg.bias
    assert bias.abs().max() <= 512 ** -0.5 and bias.abs().min() > 0
