import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.losses import gate_scores
from mmseg_hfpl.losses.functional import max_norm, pairwise_feature_similarity


def _inputs(seed=0, b=2, c=3, h=6, w=5):
    gen = torch.Generator().manual_seed(seed)
    score = torch.randn(b, c, h, w, generator=gen) * 2
    label = torch.tensor([[1., 0., 1.], [0., 1., 0.]])[:b, :c]
    image = torch.rand(b, 3, 4 * h, 4 * w, generator=gen)
    return score, label, image


@pytest.mark.parametrize('cfg,name', [
    (dict(type='GAPMultiLabelLoss', loss_weight=0.8), 'loss_gap'),
    (dict(type='ImportanceSamplingLoss', loss_weight=0.2), 'loss_isl'),
    (dict(type='FeatureSimilarityLoss'), 'loss_fsl'),
])
def test_build_from_registry(cfg, name):
    loss = MODELS.build(cfg)
    assert loss.loss_name == name and loss.loss_name.startswith('loss_')
    score, label, image = _inputs()
    value = loss(score.requires_grad_(), label, image=image)
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert score.grad.abs().sum() > 0


def test_eq16_weights_scale_the_losses():
    score, label, image = _inputs(1)
    gap = MODELS.build(dict(type='GAPMultiLabelLoss', loss_weight=0.8))(score, label)
    gap1 = MODELS.build(dict(type='GAPMultiLabelLoss'))(score, label)
    assert gap.item() == pytest.approx(0.8 * gap1.item(), rel=1e-6)


def test_gatings_match_definitions():
    score, label, _ = _inputs(2)
    r = gate_scores(score, label, 'max_norm', with_background=True)
    relu = score.clamp(min=0)
    r_def = relu / (relu.flatten(2).max(2)[0][..., None, None] + 1e-5) * label[..., None, None]
    assert torch.allclose(r[:, 1:], r_def)  # eq. 4, absent classes zeroed
    assert torch.allclose(r[:, 0], 1 - r_def.max(1)[0])  # background channel
    b = gate_scores(score, label, 'sigmoid', with_background=False)
    assert torch.allclose(b, torch.sigmoid(score) * label[..., None, None])  # eq. 14
    s = gate_scores(score, label, 'score', with_background=False)
    assert torch.allclose(s, score * label[..., None, None])
    a = gate_scores(score, label, 'softmax', with_background=False)
    a_def = torch.softmax(torch.cat([torch.zeros_like(score[:, :1]), score], 1), 1)  # eq. 5
    assert torch.allclose(a[:, 0], a_def[:, 0])
    assert torch.allclose(a[:, 1:], a_def[:, 1:] * label[..., None, None])
    # max_norm's ratio: the maximum of each labelled class is 1 (up to eps)
    assert torch.allclose(max_norm(score).flatten(2).max(2)[0], torch.ones(2, 3), atol=1e-4)


def test_fsl_equals_functional_core_on_resized_image():
    score, label, image = _inputs(3)
    loss = MODELS.build(dict(type='FeatureSimilarityLoss', loss_weight=0.5))
    small = F.interpolate(image, size=score.shape[2:], mode='bilinear', align_corners=True)
    expected = 0.5 * pairwise_feature_similarity(small, gate_scores(score, label))
    assert loss(score, label, image=image).item() == pytest.approx(expected.item(), rel=1e-6)


def test_absent_classes_contribute_nothing():
    score, label, image = _inputs(4)
    loss = MODELS.build(dict(type='FeatureSimilarityLoss', with_background=False))
    score = score.requires_grad_()
    value = loss(score, label, image=image)
    value.backward()
    absent = label == 0
    assert score.grad[absent].abs().max().item() == 0.0
    assert score.grad[~absent].abs().max().item() > 0
    # changing an absent class's scores leaves the loss unchanged
    changed = score.detach().clone()
    changed[absent] = torch.randn_like(changed[absent]) * 5
    assert loss(changed, label, image=image).item() == pytest.approx(value.item(), rel=1e-6)


def test_learnable_parameters_receive_gradients():
    score, label, image = _inputs(5)
    loss = MODELS.build(dict(type='FeatureSimilarityLoss', learnable=True))
    assert {n for n, _ in loss.named_parameters()} == {'mu', 'sigma'}
    loss(score, label, image=image).backward()
    assert loss.mu.grad is not None and loss.mu.grad.item() != 0
    assert loss.sigma.grad is not None and loss.sigma.grad.item() != 0
    fixed = MODELS.build(dict(type='FeatureSimilarityLoss'))
    assert list(fixed.parameters()) == []


def test_upsample_factor_and_fp32_under_autocast():
    score, label, image = _inputs(6, h=4, w=4)
    loss = MODELS.build(dict(type='FeatureSimilarityLoss', upsample_factor=2))
    up = F.interpolate(score, size=(8, 8), mode='bilinear', align_corners=False)
    small = F.interpolate(image, size=(8, 8), mode='bilinear', align_corners=True)
    expected = pairwise_feature_similarity(small, gate_scores(up, label))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(score.bfloat16(), label, image=image)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected.item(), rel=1e-2)  # bf16 inputs


def test_bad_input_raises_naming_the_tensor():
    score, label, image = _inputs(7)
    fsl = MODELS.build(dict(type='FeatureSimilarityLoss'))
    isl = MODELS.build(dict(type='ImportanceSamplingLoss'))
    with pytest.raises(ValueError, match='label'):
        isl(score, label[:, :2])
    with pytest.raises(ValueError, match='label'):
        isl(score, label * 0.5)
    bad = score.clone()
    bad[0, 0, 0, 0] = float('nan')
    with pytest.raises(ValueError, match='cls_score'):
        isl(bad, label)
    with pytest.raises(ValueError, match='image'):
        fsl(score, label, image=image[:1])
    with pytest.raises(ValueError, match='image'):
        fsl(score, label)
    with pytest.raises(ValueError, match='with_background'):
        MODELS.build(dict(type='FeatureSimilarityLoss', gating='score'))
    with pytest.raises(ValueError, match='posterior'):
        MODELS.build(dict(type='ImportanceSamplingLoss', posterior='poisson'))
