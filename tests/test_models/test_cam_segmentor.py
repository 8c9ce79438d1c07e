import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_hfpl  # noqa: F401

NORM = dict(type='BN', requires_grad=True)
PRE = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
           bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=(64, 64))
ADD_ON = dict(isl=dict(lam=0.2), fsl=dict())

BACKBONES = {
    'ResNetV1c': (dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
                       out_indices=(3, ), strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                       norm_cfg=NORM), 64, 8),
    'ResNet': (dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, out_indices=(3, ),
                    norm_cfg=NORM), 64, 32),
    'MixVisionTransformer': (dict(type='MixVisionTransformer', in_channels=3, embed_dims=8,
                                  num_stages=4, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 4, 8],
                                  patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1],
                                  out_indices=(3, )), 64, 32),
    'VisionTransformer': (dict(type='VisionTransformer', img_size=(64, 64), patch_size=16,
                               embed_dims=32, num_layers=2, num_heads=2, out_indices=(1, )),
                          32, 16),
    'mmpretrain.ResNet': (dict(type='mmpretrain.ResNet', depth=18, base_channels=8,
                               stem_channels=8, out_indices=(3, )), 64, 32),
}


def build(backbone='ResNetV1c', add_on=ADD_ON, **head):
    cfg, channels, _ = BACKBONES[backbone]
    head_cfg = dict(type='CAMHead', in_channels=channels, channels=channels, in_index=0,
                    num_classes=4, add_on=add_on)
    head_cfg.update(head)
    return MODELS.build(dict(type='CAMSegmentor', data_preprocessor=PRE, backbone=cfg,
                             decode_head=head_cfg,
                             test_cfg=dict(mode='whole', bg_threshold=0.3)))


def batch(n=2, size=64, labels=((1, 0, 1), (0, 1, 0))):
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(n):
        inputs.append((torch.rand(3, size, size, generator=gen) * 255).to(torch.uint8))
        s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                        pad_shape=(size, size), img_path=f'img{i}.jpg'))
        s.gt_img_label = torch.tensor(labels[i], dtype=torch.float32)
        s.gt_sem_seg = PixelData(data=torch.zeros(1, size, size, dtype=torch.long))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('backbone', list(BACKBONES))
def test_backbones_train_and_predict(backbone):
    if backbone.startswith('mmpretrain'):
        pytest.importorskip('mmpretrain')
        import mmpretrain.models  # noqa: F401
    model = build(backbone)
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_gap', 'decode.loss_isl', 'decode.loss_fsl', 'decode.acc_cls'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
    stride = BACKBONES[backbone][2]
    feats = model.extract_feat(data['inputs'])
    assert model.decode_head(feats).shape == (2, 3, 64 // stride, 64 // stride)


def test_predict_gives_pseudo_labels_of_labelled_classes_only():
    model = build().eval()
    data = model.data_preprocessor(batch(), False)
    with torch.no_grad():
        out = model(**data, mode='predict')
        scores = model.cam_scores(data['inputs'], [s.metainfo for s in data['data_samples']])
    for i, sample in enumerate(out):
        label = data['data_samples'][i].gt_img_label
        cams = sample.seg_logits.data
        assert cams.shape == (4, 64, 64)
        assert torch.all(cams[0] == 0.3)  # background threshold channel
        relu = scores[i].clamp(min=0)
        r = relu / (relu.flatten(1).max(1)[0][:, None, None] + 1e-5)  # eq. 4
        assert torch.allclose(cams[1:], r * label[:, None, None], atol=1e-6)
        pred = sample.pred_sem_seg.data[0]
        assert torch.equal(pred, cams.argmax(0))
        allowed = {0} | {c + 1 for c in range(3) if label[c] == 1}
        assert set(pred.unique().tolist()) <= allowed


def test_background_channel_and_multinomial_losses():
    add_on = dict(isl=dict(lam=0.6, posterior='multinomial'),
                  fsl=dict(gating='softmax', with_background=False))
    model = build(add_on=add_on, background_channel=True)
    assert model.decode_head.conv_seg.out_channels == 4
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    # the multinomial terms train the background score map too
    assert model.decode_head.conv_seg.weight.grad[0].abs().sum() > 0


def test_fsl_sees_the_denormalised_rgb_input():
    model = build()
    raw = batch()
    data = model.data_preprocessor(raw, True)
    rgb = model.rgb_inputs(data['inputs'])
    expected = torch.stack([x.flip(0).float() / 255 for x in raw['inputs']])  # BGR -> RGB
    assert torch.allclose(rgb, expected, atol=1e-5)


def test_wrong_label_length_is_reported():
    model = build()
    data = model.data_preprocessor(batch(labels=((1, 0), (0, 1))), True)
    with pytest.raises(ValueError, match=r'img0.jpg.*shape \(2,\), expected \(3,\)'):
        model(**data, mode='loss')
