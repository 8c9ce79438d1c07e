"""Spatial-BCE's head, foreground-ratio prior, iteration schedule and segmentor."""
import math

import cv2
import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.models.heads.spatial_bce_head import ForegroundPrior, in_threshold_phase
from mmseg_hfpl.models.segmentors.spatial_bce import adaptive_thresholds, winner_max_norm


def make_head(**kwargs):
    cfg = dict(type='SpatialBCEHead', in_channels=64, channels=16, num_classes=6, in_index=0,
               fg_prior=dict(default=0.25))
    cfg.update(kwargs)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def samples(labels, names=('a', 'b')):
    out = []
    for name, label in zip(names, labels):
        s = SegDataSample(metainfo=dict(img_path=f'/x/JPEGImages/{name}.jpg'))
        s.gt_img_label = torch.tensor(label, dtype=torch.float32)
        out.append(s)
    return out


def set_iter(i):
    MessageHub.get_current_instance().update_info('iter', i)


def test_full_size_head_shapes_and_init():
    head = make_head(in_channels=4096, channels=128, num_classes=21)
    assert head.mask_layer_downsample.weight.shape == (128, 4096, 1, 1)
    assert len(head.fc_list) == 20
    for fc in head.fc_list:  # 20 separate bias-free 1x1 heads, Xavier on (fan_in 128, fan_out 1)
        assert fc.weight.shape == (1, 128, 1, 1) and fc.bias is None
        assert fc.weight.abs().max() <= math.sqrt(6 / 129)
    assert head.threshold.weight.shape == (20, 4096, 1, 1) and head.threshold.bias is None
    assert head.threshold.weight.abs().max() <= math.sqrt(6 / (4096 + 20))
    assert head.mask_layer_downsample.bias is None
    torch.testing.assert_close(head.temperature.data, torch.full((20, ), math.log(10.0)))
    assert not hasattr(head, 'conv_seg')


def test_forward_scales_cams_by_the_temperature():
    head = make_head()
    with torch.no_grad():
        head.temperature[:] = torch.log(torch.tensor([1., 2., 3., 4., 5.]))
    x = torch.rand(2, 64, 5, 7)
    out = head([x])
    assert out['cam'].shape == out['logits'].shape == out['threshold'].shape == (2, 5, 5, 7)
    expected_cam = torch.cat([fc(head.mask_layer_downsample(x)) for fc in head.fc_list], 1)
    torch.testing.assert_close(out['cam'], expected_cam)
    torch.testing.assert_close(out['logits'],
                               out['cam'] * torch.tensor([1., 2., 3., 4., 5.]).view(1, 5, 1, 1))
    torch.testing.assert_close(head.predict([x], [{}] * 2, {}), out['cam'])


def test_iteration_schedule():
    assert [in_threshold_phase(i) for i in (0, 79, 80, 99, 100, 179, 180, 1099)] == \
        [False, False, True, True, False, False, True, True]
    assert [in_threshold_phase(i, 4, 3) for i in range(8)] == [False, False, False, True] * 2


def grads(head):
    return {n: (p.grad is not None and bool(p.grad.abs().sum() > 0))
            for n, p in head.named_parameters()}


@pytest.mark.parametrize('iteration,threshold_phase', [(5, False), (85, True), (180, True)])
def test_which_parameters_learn_in_each_part_of_the_cycle(iteration, threshold_phase):
    torch.manual_seed(0)
    head = make_head()
    x = torch.rand(2, 64, 6, 6)
    data = samples([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]])
    set_iter(iteration)
    try:
        losses = head.loss([x], data, {})
    finally:
        set_iter(0)
    assert losses['threshold_phase'].item() == float(threshold_phase)
    losses['loss_sbce'].backward(retain_graph=True)
    g = grads(head)
    network = ['mask_layer_downsample.weight', 'fc_list.0.weight', 'fc_list.1.weight',
               'temperature']
    if threshold_phase:  # the spatial BCE trains only the threshold head
        assert g['threshold.weight'] and not any(g[n] for n in network)
    else:  # the spatial BCE trains the network, never the threshold head
        assert not g['threshold.weight'] and all(g[n] for n in network)
        assert g['fc_list.4.weight']  # class 5, absent in both images: the -log(1 - p) term
    head.zero_grad(set_to_none=True)
    losses['loss_kl'].backward()  # the KL term trains the network in every iteration
    g = grads(head)
    assert all(g[n] for n in ('mask_layer_downsample.weight', 'fc_list.0.weight',
                              'temperature')) and not g['threshold.weight']


def test_absent_classes_are_pushed_down_in_network_phase():
    # the negative term -log(1 - p) reaches absent classes: its gradient raises no score
    torch.manual_seed(0)
    head = make_head()
    x = torch.rand(1, 64, 4, 4)
    set_iter(0)
    out = head([x])
    loss = head.loss_by_feat(out, samples([[1, 0, 0, 0, 0]], names=('a', )))['loss_sbce']
    g = torch.autograd.grad(loss, out['logits'])[0]
    # d(-log(1 - p))/dx = p / (B C N) > 0: gradient descent lowers every absent-class score
    torch.testing.assert_close(g[0, 1:], torch.sigmoid(out['logits'][0, 1:]).detach() / 80)


def test_foreground_prior_sources(tmp_path):
    np.save(tmp_path / 'prior.npy', {'a': [0.1, 0.2, 0, 0, 0]})
    label = np.zeros((4, 5), np.uint8)
    label[:2, :2] = 1  # 4 of 20 pixels class 1 (index 0)
    label[3, :] = 3  # 5 of 20 pixels class 3 (index 2)
    label[2, 4] = 255
    cv2.imwrite(str(tmp_path / 'b.png'), label)
    prior = ForegroundPrior(5, file=str(tmp_path / 'prior.npy'), label_dir=str(tmp_path))
    out = prior(samples([[1, 1, 0, 0, 0], [1, 0, 1, 0, 0]]))
    torch.testing.assert_close(out, torch.tensor([[0.1, 0.2, 0, 0, 0], [0.2, 0, 0.25, 0, 0]]))
    with pytest.raises(KeyError, match="'c'"):
        prior(samples([[1, 0, 0, 0, 0]], names=('c', )))
    assert ForegroundPrior(5, label_dir=str(tmp_path), default=0.3).ratios('c').tolist() == \
        [0.3] * 5
    np.save(tmp_path / 'bad.npy', {'a': [0.1, 0.2]})
    with pytest.raises(ValueError, match='expected 5 ratios'):  # at the first lookup
        ForegroundPrior(5, file=str(tmp_path / 'bad.npy')).ratios('a')
    # the file is read lazily: building a model needs no prior file, training names it
    missing = ForegroundPrior(5, file=str(tmp_path / 'missing.npy'))
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        missing.ratios('a')
    with pytest.raises(ValueError, match='fg_prior'):
        ForegroundPrior(5)


def test_adaptive_threshold_is_the_root_of_the_tempered_sigmoid():
    thr = torch.tensor([0.5, -1.0]).view(1, 2, 1, 1).expand(1, 2, 3, 3)
    temperature = torch.log(torch.tensor([10.0, 2.0]))
    t = adaptive_thresholds(thr, temperature)[0]
    a = torch.sigmoid(torch.tensor([0.5, -1.0]))
    # official make_cam.transnpy: solve sigmoid(exp(T) x) = a, threshold = sigmoid(x)
    x = torch.logit(t)
    torch.testing.assert_close(torch.sigmoid(temperature.exp() * x), a)


def test_winner_max_norm_by_hand():
    prob = torch.tensor([[.8, .4, .2], [.6, .5, .1], [.9, .9, .9]]).view(1, 3, 1, 3)
    label = torch.tensor([[1., 1., 0.]])
    out = winner_max_norm(prob, label).view(3, 3)
    # class 0 wins pixels 0 (.8 > .6) and 2 (.2 > .1); class 1 wins pixel 1 (.5 > .4)
    expected = torch.tensor([[1., 0., .25], [0., 1., 0.], [0., 0., 0.]])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize('mode', ['fixed', 'adaptive'])
def test_predict_labels_with_fixed_or_learned_thresholds(mode, monkeypatch):
    cfg = dict(
        type='SpatialBCESegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(2, 4)),
        backbone=dict(type='ResNet38d', base_channels=8, out_indices=(3, ), init_cfg=None),
        decode_head=dict(type='SpatialBCEHead', in_channels=512, channels=8, num_classes=3,
                         in_index=0, fg_prior=dict(default=0.1)),
        test_cfg=dict(mode='whole', threshold=mode, bg_threshold=0.5))
    model = MODELS.build(cfg).eval()
    # sigmoid scores at the input size: class 0 wins the left half, class 1 the right half
    prob = torch.tensor([[[.9, .6, .3, .2], [.9, .6, .3, .2]],
                         [[.1, .1, .5, .2], [.1, .1, .5, .2]]])[None]
    with torch.no_grad():
        model.decode_head.temperature.zero_()  # exp(T) = 1: thresholds stay as learned
    monkeypatch.setattr(model, 'extract_feat', lambda x: x)
    thr = torch.logit(torch.tensor([0.5, 0.3])).view(1, 2, 1, 1).expand(1, 2, 2, 4)
    monkeypatch.setattr(model.decode_head, 'forward',
                        lambda x: dict(cam=torch.logit(prob), threshold=thr, logits=prob))
    meta = dict(img_shape=(2, 4), ori_shape=(2, 4), pad_shape=(2, 4))
    sample = SegDataSample(metainfo=meta)
    sample.gt_img_label = torch.tensor([1., 1.])
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, 2, 4, dtype=torch.long))
    out = model.predict(torch.zeros(1, 3, 2, 4), [sample])[0]
    # winner max-norm: class 0 -> [1, .667, 0, 0] (max .9), class 1 -> [0, 0, 1, .4] (max .5)
    if mode == 'fixed':  # bg 0.5: fg where the winner's normalised score > 0.5
        expected = [0 + 1, 0 + 1, 1 + 1, 0]
    else:  # class 0 over 0.5 (1 and .667), class 1 over 0.3 (1 and .4)
        expected = [1, 1, 2, 2]
    assert out.pred_sem_seg.data[0, 0].tolist() == expected


def official_step_losses(head, x, data, threshold_phase):
    """The official objective (``train.py``: spatial BCE + KL), written with the loss
    functions directly: in a network iteration the threshold head is not in the graph."""
    from mmseg_hfpl.losses.spatial_bce_loss import (foreground_ratio_kl,
                                                    spatial_bce_network_loss,
                                                    spatial_bce_threshold_loss)
    out = head([x])
    label = torch.stack([s.gt_img_label for s in data])
    fg = head.fg_prior(data)
    sbce = spatial_bce_threshold_loss(out['logits'], label, out['threshold']) \
        if threshold_phase else spatial_bce_network_loss(out['logits'], label, fg)
    return sbce + foreground_ratio_kl(out['logits'], label, fg)


def test_network_iteration_keeps_the_threshold_head_in_the_graph():
    # DDP needs a gradient for every parameter in every iteration: the unused threshold head
    # enters with weight 0 (the loss value is unchanged), a zero gradient, not None
    torch.manual_seed(0)
    head = make_head()
    x = torch.rand(2, 64, 6, 6)
    data = samples([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]])
    set_iter(0)
    losses = head.loss([x], data, {})
    (losses['loss_sbce'] + losses['loss_kl']).backward()
    grad = head.threshold.weight.grad
    assert grad is not None and grad.abs().max() == 0
    torch.testing.assert_close(losses['loss_sbce'] + losses['loss_kl'],
                               official_step_losses(head, x, data, False))


def torch17_zero_grad(optimizer):
    """``Optimizer.zero_grad()`` of PyTorch 1.7 (Spatial-BCE's ``requirements.txt`` pins
    pytorch 1.7.0), torch/optim/optimizer.py: gradients are zeroed in place, never set to None."""
    for group in optimizer.param_groups:
        for p in group['params']:
            if p.grad is not None:
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()


@pytest.mark.parametrize('cycle,network_iters', [(2, 1), (3, 2)])
def test_sgd_updates_the_threshold_head_as_the_official_torch17_loop(cycle, network_iters):
    """The official loop (``train.py:135-145``: forward, loss, ``optimizer.zero_grad()``,
    backward, step) under PyTorch 1.7, where the threshold head is outside the graph of a network
    iteration: its gradient is None until the first threshold iteration (SGD skips it) and a
    zeroed tensor afterwards, so SGD's weight decay and momentum keep moving it in network
    iterations. Ours: MMEngine's loop (``zero_grad`` to None, the zero-weighted DDP term, the
    head's step pre-hook); SGD with momentum and weight decay as the config's."""
    torch.manual_seed(0)
    ours = make_head(cycle=cycle, network_iters=network_iters)
    ref = make_head(cycle=cycle, network_iters=network_iters)
    ref.load_state_dict(ours.state_dict())
    opt_ours, opt_ref = (torch.optim.SGD(h.parameters(), lr=0.1, momentum=0.9, weight_decay=0.05)
                         for h in (ours, ref))
    x = torch.rand(2, 64, 6, 6)
    data = samples([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]])
    history = []
    try:
        for it in range(2 * cycle + 1):
            set_iter(it)
            threshold_phase = it % cycle >= network_iters
            before = ours.threshold.weight.detach().clone()
            losses = ours.loss([x], data, {})
            torch17_zero_grad(opt_ref)  # official order: zero_grad after the forward
            opt_ours.zero_grad(set_to_none=True)
            (losses['loss_sbce'] + losses['loss_kl']).backward()
            official_step_losses(ref, x, data, threshold_phase).backward()
            first_threshold_seen = it > network_iters
            assert (ref.threshold.weight.grad is None) == (it < network_iters)
            opt_ours.step()
            opt_ref.step()
            for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
                torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7, msg=f'{it} {name}')
            moved = not torch.equal(ours.threshold.weight, before)
            history.append((threshold_phase, first_threshold_seen, moved))
    finally:
        set_iter(0)
    for threshold_phase, seen, moved in history:
        # frozen only in the network iterations before the first threshold iteration
        assert moved == (threshold_phase or seen)
    assert any(not phase and moved for phase, _, moved in history)  # decay + momentum moved it


ADDON = dict(add_on=dict(
    isl=dict(lam=0.2, num_samples=10, posterior='binomial'),
    fsl=dict(weight=1.0, mu=2.5, sigma=5.0, gating='max_norm', subtract_min=True)))


@pytest.mark.parametrize('iteration,threshold_phase', [(5, False), (85, True)])
def test_addon_is_eq16_in_network_iterations_and_off_in_threshold_iterations(
        iteration, threshold_phase):
    """Eq. 16 with Spatial-BCE's spatial BCE as the classification loss: network iterations
    0.8 * spatial BCE + 0.2 * ISL (+ FSL, + KL); threshold iterations the official objective
    (threshold loss + KL), ISL and FSL 0 and without gradient."""
    from mmseg_hfpl.losses.functional import importance_sampling_loss
    from mmseg_hfpl.losses.spatial_bce_loss import (foreground_ratio_kl,
                                                    spatial_bce_network_loss,
                                                    spatial_bce_threshold_loss)
    torch.manual_seed(0)
    head = make_head(**ADDON)
    base = make_head()
    base.load_state_dict(head.state_dict())
    x = torch.rand(2, 64, 6, 6)
    images = torch.rand(2, 3, 24, 24)
    data = samples([[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]])
    label = torch.stack([s.gt_img_label for s in data])
    set_iter(iteration)
    try:
        torch.manual_seed(1)
        losses = head.loss([x], data, {}, images=images)
        base_losses = base.loss([x], data, {}, images=images)
    finally:
        set_iter(0)
    out = head([x])
    fg = head.fg_prior(data)
    kl = foreground_ratio_kl(out['logits'], label, fg)
    torch.testing.assert_close(losses['loss_kl'], kl)
    if threshold_phase:
        torch.testing.assert_close(losses['loss_sbce'], spatial_bce_threshold_loss(
            out['logits'], label, out['threshold']))
        torch.testing.assert_close(losses['loss_sbce'], base_losses['loss_sbce'])
        for name in ('loss_isl', 'loss_fsl'):
            assert losses[name].item() == 0 and losses[name].grad_fn is None
        # every network parameter learns from the KL term alone, as in the baseline
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        ref = sum(v for k, v in base_losses.items() if k.startswith('loss'))
        g = torch.autograd.grad(total, list(head.parameters()), allow_unused=True)
        g_ref = torch.autograd.grad(ref, list(base.parameters()), allow_unused=True)
        for (name, _), a, b in zip(head.named_parameters(), g, g_ref):
            assert (a is None) == (b is None), name
            if a is not None:
                torch.testing.assert_close(a, b, msg=name)
    else:
        sbce = spatial_bce_network_loss(out['logits'], label, fg)
        torch.testing.assert_close(losses['loss_sbce'], 0.8 * sbce)
        torch.testing.assert_close(base_losses['loss_sbce'], sbce)
        torch.manual_seed(1)  # the same draw of pixels as in head.loss
        isl = importance_sampling_loss(out['logits'], label, num_samples=10,
                                       posterior='binomial')
        torch.testing.assert_close(losses['loss_isl'], 0.2 * isl)
        assert losses['loss_isl'].item() > 0 and losses['loss_fsl'].item() != 0
        for name in ('loss_isl', 'loss_fsl'):  # the add-on trains the class heads
            g = torch.autograd.grad(losses[name], head.fc_list[0].weight, retain_graph=True)[0]
            assert g.abs().sum() > 0, name
            assert torch.autograd.grad(losses[name], head.threshold.weight,
                                       allow_unused=True)[0] is None, name


def test_phase_one_starts_from_the_official_voc12_init(tmp_path):
    """configs/spatial_bce/spatial-bce_r38_voc.py: phase 1 loads voc12_init.pth as the official
    train.py:63-73 (``--pretrain ./voc12_init.pth`` of train_*_threshold.sh:16): a state dict
    of the official ResNet38 with flat names, every key the model has, others ignored."""
    import os.path as osp
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs/spatial_bce/spatial-bce_r38_voc.py'))
    assert cfg.model.init_checkpoint == 'pretrain/voc12_init.pth'
    assert cfg.model.backbone.init_cfg is None  # the released weights only, as officially
    cfg.model.backbone.base_channels = 8
    cfg.model.decode_head.in_channels = 512
    cfg.model.decode_head.fg_prior = dict(default=0.1)
    cfg.model.init_checkpoint = None
    torch.manual_seed(0)
    source = MODELS.build(cfg.model)
    source.init_weights()
    # official names (models/resnet38.py): conv1a ... bn7, mask_layer_downsample, fc_list.i,
    # threshold, temperature; plus a key the model does not have
    official = {k.split('.', 1)[1]: v.clone() for k, v in source.state_dict().items()}
    assert {'conv1a.weight', 'temperature', 'fc_list.19.weight', 'threshold.weight'} <= \
        official.keys()
    official['fc8.weight'] = torch.ones(20, 512, 1, 1)
    torch.save(official, tmp_path / 'voc12_init.pth')
    cfg.model.init_checkpoint = str(tmp_path / 'voc12_init.pth')
    torch.manual_seed(1)
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.state_dict()
    for k, v in source.state_dict().items():
        assert torch.equal(loaded[k], v), k
    cfg.model.init_checkpoint = str(tmp_path / 'missing' / 'voc12_init.pth')
    with pytest.raises(FileNotFoundError, match=r"missing/voc12_init\.pth.*model\.init_checkpoint"):
        MODELS.build(cfg.model).init_weights()
    torch.save({'fc8.weight': torch.ones(1)}, tmp_path / 'other.pth')
    cfg.model.init_checkpoint = str(tmp_path / 'other.pth')
    with pytest.raises(ValueError, match='none of the ResNet-38'):
        MODELS.build(cfg.model).init_weights()
