"""SEAMSegmentor / SEAMHead: how the losses are combined, and inference through the PCM."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def official_max_norm(p, e=1e-5):
    """hfpl tool/visualization.py:54-67 (``max_norm``, 4-D torch branch), as written there."""
    n, c, h, w = p.size()
    p = F.relu(p)
    max_v = torch.max(p.view(n, c, -1), dim=-1)[0].view(n, c, 1, 1)
    min_v = torch.min(p.view(n, c, -1), dim=-1)[0].view(n, c, 1, 1)
    return F.relu(p - min_v - e) / (max_v - min_v + e)


def official_sample_probs(probs, num_samples, logits):
    """hfpl tool/probutils.py:5-20 (``sample_probs`` with logits), as written there."""
    n, c, h, w = probs.size()
    probs = probs.view(n * c, h * w)
    indices = torch.multinomial(probs, num_samples=num_samples, replacement=True)
    return torch.gather(logits.view(n * c, h * w), 1, indices).view(n, c, num_samples)


def build(lam=0.2, fsl=True, num_classes=4):
    head = dict(type='SEAMHead', in_channels=(64, 128, 512), channels=512, in_index=(0, 1, 2),
                num_classes=num_classes, dropout_ratio=0.0, align_corners=True,
                add_on=dict(isl=dict(lam=lam) if lam else None,
                            fsl=dict(subtract_min=True) if fsl else None))
    model = MODELS.build(dict(
        type='SEAMSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[120.] * 3, std=[60.] * 3,
                               bgr_to_rgb=True, size=(48, 48)),
        backbone=dict(type='ResNet38d', base_channels=8, frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
        decode_head=head, test_cfg=dict(bg_threshold=0.3)))
    model.init_weights()
    return model.eval()  # BN statistics fixed so that repeated passes agree


def batch(model, labels):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for label in labels:
        s = SegDataSample()
        s.gt_img_label = torch.tensor(label, dtype=torch.float32)
        s.set_metainfo(dict(img_shape=(48, 48), ori_shape=(48, 48), pad_shape=(48, 48)))
        samples.append(s)
    imgs = [torch.rand(3, 48, 48, generator=gen) * 255 for _ in labels]
    data = model.data_preprocessor(dict(inputs=imgs, data_samples=samples), False)
    return data['inputs'], data['data_samples']


def test_loss_terms_follow_the_official_combination():
    torch.manual_seed(0)
    model = build(lam=0.2)
    inputs, samples = batch(model, [[1, 0, 1], [0, 1, 0]])
    label = torch.tensor([[1., 0, 1], [0, 1, 0]])
    torch.manual_seed(3)
    losses = model.loss(inputs, samples)
    assert set(losses) == {f'decode.{k}' for k in ('loss_gap', 'loss_isl', 'loss_rvmin',
                                                    'loss_er', 'loss_ecr', 'loss_fsl',
                                                    'acc_cls')}
    small = F.interpolate(inputs, scale_factor=0.3, mode='bilinear', align_corners=True)
    with torch.no_grad():
        out1, out2 = model._head_outputs(inputs), model._head_outputs(small)
    up = (lambda x, s: F.interpolate(x, size=s, mode='bilinear', align_corners=True))  # noqa
    cam1, cam2 = up(out1['logits'], (48, 48)), up(out2['logits'], small.shape[2:])
    # the official step (hfpl train_cam_voc.py:118-174), written from its lines
    full = torch.cat([torch.ones(2, 1), label], 1)[..., None, None]  # :123-125
    label1 = F.adaptive_avg_pool2d(cam1, (1, 1))  # :128
    label2 = F.adaptive_avg_pool2d(cam2, (1, 1))  # :134
    loss_cls1 = F.multilabel_soft_margin_loss(label1[:, 1:, :, :], full[:, 1:, :, :])  # :139
    loss_cls2 = F.multilabel_soft_margin_loss(label2[:, 1:, :, :], full[:, 1:, :, :])  # :140
    # eq. 16 on the full-scale branch ((1 - 0.2) x GAP, :156), then the mean of the branches
    torch.testing.assert_close(losses['decode.loss_gap'], (0.8 * loss_cls1 + loss_cls2) / 2)
    torch.manual_seed(3)  # the draws of the loss above
    logits1 = out1['logits']
    pred_is1 = official_sample_probs(torch.sigmoid(logits1)[:, 1:].contiguous() + 1e-5, 10,
                                     logits1[:, 1:].contiguous())  # :144-148
    loss_cls_is1 = F.multilabel_soft_margin_loss(pred_is1, full[:, 1:].squeeze(-1))  # :149
    torch.testing.assert_close(losses['decode.loss_isl'], 0.2 * loss_cls_is1 / 2)  # :156-158
    # ER between the min-max normalised CAMs at the small size (:130, :136, :174)
    n1 = F.interpolate(official_max_norm(cam1), scale_factor=0.3, mode='bilinear',
                       align_corners=True) * full
    n2 = official_max_norm(cam2) * full
    torch.testing.assert_close(losses['decode.loss_er'],
                               torch.mean(torch.abs(n1[:, 1:, :, :] - n2[:, 1:, :, :])))
    # ECR and min-pooling written as the official training step (in-place edits included)
    rv1, rv2 = up(out1['cam_rv'], (48, 48)), up(out2['cam_rv'], small.shape[2:])

    def amp(x):
        k = x.shape[2] * x.shape[3] // 4
        return F.relu(x.max(dim=1)[0].view(x.shape[0], -1).topk(k, largest=False)[0]).sum() / (
            k * x.shape[0])

    def onehot(x):
        x_max = x[:, 1:].max(dim=1, keepdim=True)[0]
        x[:, 1:][x[:, 1:] != x_max] = 0
        return x

    r1 = up(official_max_norm(rv1), small.shape[2:]) * full
    r2 = official_max_norm(rv2) * full
    c1, c2 = n1.clone(), n2.clone()
    c1[:, 0] = 1 - c1[:, 1:].max(dim=1)[0]
    c2[:, 0] = 1 - c2[:, 1:].max(dim=1)[0]
    k = int(4 * small.shape[2] * small.shape[3] * 0.2)
    ecr = (torch.abs(onehot(c2.clone()) - r1).view(2, -1).topk(k)[0].mean() +
           torch.abs(onehot(c1.clone()) - r2).view(2, -1).topk(k)[0].mean())
    torch.testing.assert_close(losses['decode.loss_ecr'], ecr)
    torch.testing.assert_close(losses['decode.loss_rvmin'],
                               (amp((rv1 * full)[:, 1:]) + amp((rv2 * full)[:, 1:])) / 2)


def test_lambda_one_drops_the_full_scale_gap_and_gradients_reach_every_part():
    torch.manual_seed(0)
    model = build(lam=1.0)
    inputs, samples = batch(model, [[0, 0, 1]])
    label = torch.tensor([[0., 0, 1]])
    small = F.interpolate(inputs, scale_factor=0.3, mode='bilinear', align_corners=True)
    model.train()
    for m in model.modules():  # deterministic forward: no dropout, frozen statistics
        if isinstance(m, (torch.nn.Dropout2d, torch.nn.BatchNorm2d)):
            m.eval()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        cam2 = F.interpolate(model._head_outputs(small)['logits'], size=small.shape[2:],
                             mode='bilinear', align_corners=True)
    loss_cls2 = F.multilabel_soft_margin_loss(  # hfpl train_cam_voc.py:134,140
        F.adaptive_avg_pool2d(cam2, (1, 1))[:, 1:], label[..., None, None])
    torch.testing.assert_close(losses['decode.loss_gap'], loss_cls2 / 2)  # lambda 1: (0 + .)/2
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    head = model.decode_head
    for p in (head.conv_seg.weight, head.f8_3.weight, head.f9.weight,
              model.backbone.b3.conv_branch2a.weight):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_pcm_features_do_not_train_the_backbone():
    model = build(lam=0.0, fsl=False)
    inputs, _ = batch(model, [[1, 0, 0]])
    out = model._head_outputs(inputs)
    # the PCM's CAM input is detached and f8_3 / f8_4 read detached backbone features
    out['cam_rv'].sum().backward()
    assert model.backbone.b7.conv_branch2b2.weight.grad is None
    assert model.decode_head.f9.weight.grad.abs().sum() > 0


def test_inference_uses_the_refined_cam():
    model = build(lam=0.2)
    inputs, samples = batch(model, [[1, 0, 1]])
    with torch.no_grad():
        scores = model.cam_scores(inputs, None)
        rv = model._head_outputs(inputs)['cam_rv'][:, 1:]
    assert scores.shape == (1, 3, 48, 48)
    torch.testing.assert_close(
        scores, F.interpolate(rv, size=(48, 48), mode='bilinear', align_corners=True))
    with torch.no_grad():
        pred = model.predict(inputs, samples)[0]
    assert pred.seg_logits.data.shape == (4, 48, 48)
    assert (pred.seg_logits.data[2] == 0).all()  # class 2 is absent from the image
    assert set(pred.pred_sem_seg.data.unique().tolist()) <= {0, 1, 3}


def test_head_rejects_wrong_inputs():
    with pytest.raises(ValueError, match='conv4, conv5, conv6'):
        MODELS.build(dict(type='SEAMHead', in_channels=(64, 512), channels=512, in_index=(0, 1),
                          num_classes=4))


def test_largefov_head_is_deeplab_v1():
    head = MODELS.build(dict(type='LargeFOVHead', in_channels=32, channels=16, in_index=0,
                             num_classes=5, norm_cfg=dict(type='BN')))
    conv3, conv1 = head.fov[0].conv, head.fov[1].conv
    assert conv3.kernel_size == (3, 3) and conv3.dilation == (12, 12) and conv3.padding == (12, 12)
    assert conv1.kernel_size == (1, 1) and head.dropout.p == 0.5
    out = head.eval()([torch.randn(2, 32, 9, 7)])
    assert out.shape == (2, 5, 9, 7)


def test_seam_runs_on_efficientnet_at_stride_8():
    """SEAM on any backbone (configs/seam/seam_effnet_msrc.py): PCM on stages 4/5, fc8 on the
    head, CAMs 28 x 28 at a 224 input; the frozen BN and the add-on terms of the hfpl config."""
    import os.path as osp
    from mmengine.config import Config
    pytest.importorskip('efficientnet_lite_pytorch')
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/hfpl/msrc/seam_effnet_msrc_isl_fsl.py'))
    cfg.model.data_preprocessor.size = (224, 224)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    assert not any(m.training for m in model.backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
    s = SegDataSample()
    s.gt_img_label = torch.zeros(15)
    s.gt_img_label[[2, 7]] = 1
    s.set_metainfo(dict(img_shape=(224, 224), ori_shape=(224, 224), pad_shape=(224, 224)))
    data = model.data_preprocessor(
        dict(inputs=[torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0)) * 255],
             data_samples=[s]), True)
    out = model._head_outputs(data['inputs'])
    assert out['logits'].shape == out['cam_rv'].shape == (1, 16, 28, 28)
    losses = model.loss(data['inputs'], data['data_samples'])
    names = {'decode.loss_gap', 'decode.loss_isl', 'decode.loss_fsl', 'decode.loss_er',
             'decode.loss_ecr', 'decode.loss_rvmin'}
    assert names <= set(losses) and all(torch.isfinite(losses[n]) for n in names)
    sum(losses[n] for n in names).backward()
    assert model.backbone.head[0].weight.grad.abs().sum() > 0
    assert model.decode_head.f9.weight.grad.abs().sum() > 0
