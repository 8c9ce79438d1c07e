import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.losses import GeneralSpecificConsistencyLoss
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
