import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.losses import GeneralSpecificConsistencyLoss
from mmseg_hfpl.models.heads.cam_head import CAMHead
from mmseg_hfpl.models.heads.sipe_head import (hierarchical_features, prototypes, reactivate,
                                               seed_masks)
from mmseg_hfpl.pseudo_labels import multi_scale_cams


def three_pixels():
    """Features of three pixels in a 1x3 row: two alike, one orthogonal; a CAM [bg, class]."""
    feature = torch.tensor([[1., 1., 0.], [0., 0., 1.]]).view(1, 2, 1, 3)
    norm_cam = torch.tensor([[0.2, 0.2, 0.9], [1.0, 0.8, 0.1]]).view(1, 2, 1, 3)
    return feature, norm_cam


def test_seeds_hand_computed():
    feature, norm_cam = three_pixels()
    keep = torch.ones(1, 2, 1, 1)
    # correlation [[1,1,0],[1,1,0],[0,0,1]]; class IoU 1.8/2.1, 1.8/2.1, 0.1/2.8;
    # background IoU x0.5: 0.4/2.9/2, 0.4/2.9/2, 0.9/1.4/2 -> the third pixel is background
    seeds = seed_masks(norm_cam, feature, keep, bg_factor=0.5)
    assert seeds[0, :, 0].tolist() == [[0, 0, 1], [1, 1, 0]]
    # a background factor small enough (0.9/1.4 * 0.05 < 0.1/2.8) hands it to the class
    seeds = seed_masks(norm_cam, feature, keep, bg_factor=0.05)
    assert seeds[0, :, 0].tolist() == [[0, 0, 0], [1, 1, 1]]
    # an absent class has no seeds; the valid mask removes pixels
    assert seed_masks(norm_cam, feature, torch.tensor([1., 0.]).view(1, 2, 1, 1))[0, 1].sum() == 0
    keep = torch.ones(1, 2, 1, 3)
    keep[..., 0] = 0
    assert seed_masks(norm_cam, feature, keep)[0, :, 0].tolist() == [[0, 0, 1], [0, 1, 0]]


def test_seeds_equal_the_dense_broadcast_formulation():
    torch.manual_seed(0)
    n, c, h, w, d = 2, 4, 5, 6, 7
    norm_cam = torch.rand(n, c, h, w)
    feature = torch.randn(n, d, h, w)
    keep = (torch.rand(n, c, 1, 1) > 0.3).float()
    # SIPE's get_seed, written out with the (n, 1, hw, hw) x (n, c, 1, hw) broadcast
    fs = feature.view(n, d, -1)
    fs = fs / (fs.norm(dim=1, keepdim=True) + 1e-5)
    corr = F.relu(fs.transpose(2, 1) @ fs).unsqueeze(1)
    cam = norm_cam.view(n, c, 1, h * w)
    inter = (corr * cam).sum(-1)
    union = corr.sum(-1) + cam.sum(-1) - inter
    iou = (inter / union).view(n, c, h, w)
    iou[:, 0] *= 0.5
    expected = F.one_hot(iou.argmax(1), c).permute(0, 3, 1, 2).float() * keep
    assert torch.equal(seed_masks(norm_cam, feature, keep, 0.5), expected)


def test_prototypes_and_reactivation_hand_computed():
    feature, _ = three_pixels()
    feature = torch.cat([feature, torch.tensor([-1., 0.]).view(1, 2, 1, 1)], dim=3)  # 4th pixel
    seeds = torch.zeros(1, 3, 1, 4)
    seeds[0, 0, 0, 2] = 1  # background seed: the orthogonal pixel
    seeds[0, 1, 0, :2] = 1  # class seeds: the two alike pixels; class 2 has none
    protos = prototypes(seeds, feature)
    assert torch.allclose(protos[0], torch.tensor([[0., 0.25], [0.5, 0.], [0., 0.]]))
    is_cam = reactivate(protos, feature)[0, :, 0]
    assert torch.allclose(is_cam, torch.tensor([[0., 0., 1., 0.], [1., 1., 0., 0.],
                                                [0., 0., 0., 0.]]))  # cos -1 -> ReLU 0
    # cosine as torch computes it, on random values
    torch.manual_seed(1)
    f, p = torch.randn(2, 5, 3, 4), torch.randn(2, 3, 5)
    ref = F.relu(torch.cosine_similarity(f.unsqueeze(1), p[..., None, None], dim=2))
    assert torch.allclose(reactivate(p, f), ref, atol=1e-6)


def test_hierarchical_features_are_unit_norm_per_side():
    torch.manual_seed(0)
    sides = [torch.randn(1, 3, 8, 8), torch.randn(1, 2, 4, 4)]
    hie = hierarchical_features(sides, (4, 4))
    assert hie.shape == (1, 5, 4, 4)
    assert torch.allclose(hie[:, 3:].norm(dim=1), torch.ones(1, 4, 4), atol=1e-4)


def test_gsc_loss_hand_computed():
    norm_cam = torch.tensor([[0.0, 1.0], [0.5, 0.5]]).view(1, 2, 1, 2)
    is_cam = torch.tensor([[2.0, 4.0], [0.0, 0.0]]).view(1, 2, 1, 2)
    # IS-CAM / max: [0.5, 1] and [0, 0] -> |diff| = 0.5, 0, 0.5, 0.5 -> mean 0.375
    loss = GeneralSpecificConsistencyLoss(loss_weight=2.0)(norm_cam, is_cam)
    assert loss.item() == pytest.approx(0.75, abs=1e-4)
    with pytest.raises(ValueError, match='same shape'):
        GeneralSpecificConsistencyLoss()(norm_cam, is_cam[..., :1])


def tiny_sipe():
    init_default_scope('mmseg')
    cfg = Config.fromfile('configs/sipe/sipe_r18tiny_synthetic.py')
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def sample(label, shape=(32, 32)):
    s = SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=(32, 32)))
    s.gt_img_label = torch.tensor(label, dtype=torch.float32)
    s.gt_sem_seg = PixelData(data=torch.zeros(1, *shape, dtype=torch.long))
    return s


def test_head_losses_and_where_gradients_flow():
    model = tiny_sipe().train()
    head = model.decode_head
    feats = [f.detach().requires_grad_() for f in model.extract_feat(torch.randn(2, 3, 32, 32))]
    samples = [sample([1, 0, 0, 1, 0]), sample([0, 1, 0, 0, 0], shape=(20, 24))]
    losses = head.loss(feats, samples, {}, images=torch.rand(2, 3, 32, 32))
    assert set(losses) == {'loss_gap', 'loss_gsc', 'acc_cls'}
    (losses['loss_gap'] + losses['loss_gsc']).backward()
    # the side convolutions read detached stages: the GSC loss trains them, never the backbone
    assert all(f.grad is None for f in feats[:3]) and feats[3].grad.abs().sum() > 0
    assert all(s.weight.grad.abs().sum() > 0 for s in head.sides)
    assert head.conv_seg.weight.grad.abs().sum() > 0


def test_valid_mask_covers_the_image_and_the_labels():
    head = tiny_sipe().decode_head
    label = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    keep = head.keep_mask(label, [sample([1, 0, 0, 1, 0]), sample([0, 1, 0, 0, 0], (16, 24))],
                          (4, 4), torch.zeros(2, 3, 32, 32))
    assert keep.shape == (2, 6, 4, 4)
    assert keep[0, [0, 1, 4]].eq(1).all() and keep[0, [2, 3, 5]].eq(0).all()
    # second image: 16 x 24 of 32 x 32 -> rows 0-1 and columns 0-2 of the 4 x 4 grid
    expected = torch.zeros(4, 4)
    expected[:2, :3] = 1
    assert torch.equal(keep[1, 0], expected) and torch.equal(keep[1, 2], expected)
    assert keep[1, [1, 3, 4, 5]].eq(0).all()


def test_inference_returns_background_first_and_zero_for_absent_classes():
    model = tiny_sipe().eval()
    inputs = torch.randn(1, 3, 40, 48)
    label = torch.tensor([0., 1, 0, 0, 1])
    with torch.no_grad():
        scores = model.cam_scores(inputs, [dict(img_shape=(40, 48), img_label=label)])
    assert scores.shape == (1, 6, 40, 48)
    assert scores[0, [1, 3, 4]].abs().max() == 0  # classes 1, 3, 4 absent: no prototype
    assert scores[0, [0, 2, 5]].max() > 0  # every pixel is a seed of bg or a labelled class
    # through the pseudo-label inference: class 0 is stored first, every map peaks at 1 (or
    # is empty: a class without seeds at every scale)
    image = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    cams, classes = multi_scale_cams(model, image, label.numpy(), scales=(1.0, 0.5))
    assert classes.tolist() == [0, 2, 5] and cams.shape == (3, 40, 48)
    peaks = cams.reshape(3, -1).max(1)
    assert peaks.max() == pytest.approx(1, abs=1e-3)
    assert all(p == pytest.approx(1, abs=1e-3) or p == 0 for p in peaks)


def test_predict_takes_the_background_from_the_model():
    model = tiny_sipe().eval()
    samples = [sample([1, 0, 0, 1, 0])]
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 32, 32), samples)[0]
    logits = out.seg_logits.data
    assert logits.shape == (6, 32, 32)
    assert logits[[2, 3, 5]].abs().max() == 0
    assert torch.equal(out.pred_sem_seg.data[0], logits.argmax(0))
    assert set(out.pred_sem_seg.data.unique().tolist()) <= {0, 1, 4}


def test_convolutions_keep_the_pytorch_default_init_as_sipe():
    """SIPE's classifier and side convolutions are plain ``nn.Conv2d`` (``resnet50_SIPE.py:23-27``):
    kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), no bias; after
    ``init_weights`` (as the runner calls it) the full-size head keeps that law, while the
    CAM head keeps mmseg's Normal(0, 0.01)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile('configs/sipe/sipe_r50_voc.py')
    torch.manual_seed(0)
    head = MODELS.build(cfg.model.decode_head)
    head.init_weights()
    w = head.conv_seg.weight.detach()
    assert w.shape == (20, 2048, 1, 1) and head.conv_seg.bias is None
    bound = 1 / math.sqrt(2048)  # gain sqrt(2 / (1 + 5)) x sqrt(3 / fan_in)
    assert w.abs().max() <= bound and w.abs().max() > 0.999 * bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    # half the weights within half the bound (uniform); Normal(0, 0.01) would put 73% there
    assert (w.abs() < bound / 2).float().mean().item() == pytest.approx(0.5, abs=0.015)
    reference = nn.Conv2d(2048, 20, 1, bias=False)  # torch's own reset of the same shape
    assert w.std().item() == pytest.approx(reference.weight.std().item(), rel=0.03)
    for side, fan_in in zip(head.sides, (256, 512, 1024, 2048)):
        assert side.bias is None and side.weight.abs().max() <= 1 / math.sqrt(fan_in)
    cam_head = CAMHead(in_channels=2048, channels=2048, num_classes=21)
    cam_head.init_weights()
    v = cam_head.conv_seg.weight.detach()
    assert v.std().item() == pytest.approx(0.01, rel=0.02) and v.abs().max() > 1.5 * bound


def _official_cam_forward(head, xs, label):
    """SIPE's ``CAM.forward`` (``resnet50_SIPE.py:121-154``) with ``get_seed``,
    ``get_prototype`` and ``reactivate`` (lines 32-64) as written there, on the stage outputs
    ``xs`` of (image, flipped image) and the labels (C, ) with the background first."""
    sides = [side(x) for side, x in zip(head.sides, xs)]
    size = sides[2].shape[2:]
    hie_fea = torch.cat([F.interpolate(s / (torch.norm(s, dim=1, keepdim=True) + 1e-5), size,
                                       mode='bilinear') for s in sides], dim=1)
    cam = head.conv_seg(xs[3])
    cam = (cam[0] + cam[1].flip(-1)).unsqueeze(0)
    hie_fea = (hie_fea[0] + hie_fea[1].flip(-1)).unsqueeze(0)
    norm_cam = F.relu(cam)
    norm_cam = norm_cam / (F.adaptive_max_pool2d(norm_cam, (1, 1)) + 1e-5)
    cam_bkg = 1 - torch.max(norm_cam, dim=1)[0].unsqueeze(1)
    norm_cam = torch.cat([cam_bkg, norm_cam], dim=1)
    norm_cam = F.interpolate(norm_cam, size, mode='bilinear', align_corners=True)
    # get_seed(norm_cam, label, hie_fea)
    n, c, h, w = norm_cam.shape
    seeds = torch.zeros((n, h, w, c))
    feature_s = hie_fea.view(n, -1, h * w)
    feature_s = feature_s / (torch.norm(feature_s, dim=1, keepdim=True) + 1e-5)
    correlation = F.relu(torch.matmul(feature_s.transpose(2, 1), feature_s)).unsqueeze(1)
    cam_flatten = norm_cam.view(n, -1, h * w).unsqueeze(2)
    inter = (correlation * cam_flatten).sum(-1)
    union = correlation.sum(-1) + cam_flatten.sum(-1) - inter
    miou = (inter / union).view(n, c, h, w)
    miou[:, 0] = miou[:, 0] * 0.5
    belonging = miou.argmax(1)
    seeds = seeds.scatter_(-1, belonging.view(n, h, w, 1), 1).permute(0, 3, 1, 2).contiguous()
    seeds = seeds * label.view(1, -1, 1, 1)
    # get_prototype(seeds, hie_fea)
    d = hie_fea.shape[1]
    seeds = F.interpolate(seeds, hie_fea.shape[2:], mode='nearest')
    crop_feature = seeds.unsqueeze(2) * hie_fea.unsqueeze(1)
    prototype = F.adaptive_avg_pool2d(crop_feature.view(-1, d, h, w), (1, 1)).view(n, c, d, 1, 1)
    # reactivate(prototype, hie_fea)
    is_cam = F.relu(torch.cosine_similarity(hie_fea.unsqueeze(1), prototype, dim=2))
    is_cam = F.interpolate(is_cam, hie_fea.shape[2:], mode='bilinear', align_corners=True)
    return is_cam[0]


def test_flip_pair_inference_fuses_inside_the_network_as_sipe():
    """``flip_pairs``: CAM logits and hierarchical features summed over (image, flip) before the
    seeds, as SIPE's ``CAM.forward``; not the sum of the two passes' own IS-CAMs."""
    model = tiny_sipe().eval()
    head = model.decode_head
    torch.manual_seed(1)
    image = torch.randn(1, 3, 40, 48)
    inputs = torch.cat([image, image.flip(-1)])
    label = torch.tensor([0., 1, 0, 0, 1])
    metas = [dict(img_shape=(40, 48), img_label=label)] * 2
    with torch.no_grad():
        xs = model.extract_feat(inputs)
        fused = head.predict(xs, metas, model.test_cfg, flip_pairs=True)
        official = _official_cam_forward(head, xs, torch.cat([torch.ones(1), label]))
        separate = head.predict(xs, metas, model.test_cfg)
        scores = model.flip_pair_scores(inputs, metas)
    assert fused.shape == (1, 6, 5, 6)
    assert official[[0, 2, 5]].max() > 0 and official[[1, 3, 4]].abs().max() == 0
    assert torch.allclose(fused[0], official, atol=1e-5)
    per_pass = separate[0] + separate[1].flip(-1)
    assert (per_pass / per_pass.max() - fused[0] / fused[0].max()).abs().max() > 0.05
    assert torch.equal(scores, fused)
    with pytest.raises(ValueError, match='flip_pairs needs pairs.*batch of 3'):
        head.predict([x[:3] for x in model.extract_feat(torch.cat([inputs, image]))],
                     metas + metas[:1], model.test_cfg, flip_pairs=True)


def test_multi_scale_inference_fuses_each_flip_pair_inside_as_sipe_make_cam():
    """``multi_scale_cams`` on SIPE = ``make_cam.py:52-60``: ``CAM.forward`` on every (image,
    flip) pair (the pair fused inside the network), each IS-CAM up-sampled straight to the
    image size, summed over the scales, divided by its maximum + 1e-5."""
    from mmseg_hfpl.pseudo_labels.cam_inference import multi_scale_cams, resize_bicubic
    model = tiny_sipe().eval()
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    label = np.array([0., 1, 0, 0, 1])
    scales = (1.0, 0.5, 1.5)
    cams, classes = multi_scale_cams(model, image, label, scales=scales)
    full_label = torch.cat([torch.ones(1), torch.tensor(label, dtype=torch.float32)])
    total = 0
    with torch.no_grad():
        for scale in scales:
            size = (round(40 * scale), round(48 * scale))
            img = torch.from_numpy(np.ascontiguousarray(resize_bicubic(image, size))).permute(
                2, 0, 1).float()
            inputs = model.data_preprocessor(dict(inputs=[img, img.flip(-1)]), False)['inputs']
            is_cam = _official_cam_forward(model.decode_head, model.extract_feat(inputs),
                                           full_label)
            total = total + F.interpolate(is_cam[:, None], (40, 48), mode='bilinear',
                                          align_corners=False)[:, 0]
    total = total / (F.adaptive_max_pool2d(total, (1, 1)) + 1e-5)
    assert classes.tolist() == [0, 2, 5]
    assert np.allclose(cams, total[[0, 2, 5]].numpy(), atol=1e-5)
