"""One ``add_on`` interface on every WSSS head: the same keys build the same losses, the old
per-head keys are gone, and the shared arithmetic is eq. 16 + FSL."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.losses.functional import importance_sampling_loss, pairwise_feature_similarity
from mmseg_hfpl.losses.feature_similarity_loss import gate_scores
from mmseg_hfpl.models.heads.add_on import AddOn, rgb_inputs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ADD_ON = dict(isl=dict(lam=0.3, num_samples=5, posterior='binomial'),
              fsl=dict(weight=0.5, mu=2.0, sigma=3.0, gating='max_norm', subtract_min=True,
                       upsample_factor=2))
# the five heads of the baselines (PMM trains SEAMHead) and CAMHead, minimal widths
HEADS = {
    'CAMHead': dict(in_channels=8, channels=8, num_classes=4),
    'SIPEHead': dict(in_channels=(4, 4, 8, 8), channels=8, in_index=(0, 1, 2, 3), num_classes=4,
                     side_channels=(2, 2, 4, 4)),
    'MCTformerHead': dict(in_channels=8, channels=8, num_classes=4),
    'SEAMHead': dict(in_channels=(4, 8, 16), channels=16, in_index=(0, 1, 2), num_classes=4,
                     pcm_channels=(2, 4, 6)),
    'SpatialBCEHead': dict(in_channels=8, channels=4, num_classes=4, fg_prior=dict(default=0.2)),
}


@pytest.mark.parametrize('head', sorted(HEADS))
def test_every_head_takes_the_same_add_on_keys(head):
    built = MODELS.build(dict(type=head, add_on=ADD_ON, **HEADS[head]))
    add_on = built.add_on
    assert isinstance(add_on, AddOn)
    assert add_on.lam == 0.3 and add_on.cls_weight == pytest.approx(0.7)
    assert add_on.isl.num_samples == 5 and add_on.isl.posterior == 'binomial'
    assert add_on.isl.loss_weight == 0.3  # logged loss_isl = lambda * ISL
    fsl = add_on.fsl
    assert (fsl.loss_weight, float(fsl.mu), float(fsl.sigma)) == (0.5, 2.0, 3.0)
    assert fsl.gating == 'max_norm' and fsl.subtract_min and fsl.upsample_factor == 2
    assert add_on.names == ('loss_isl', 'loss_fsl')
    assert MODELS.build(dict(type=head, **HEADS[head])).add_on is None


@pytest.mark.parametrize('head', sorted(HEADS))
def test_the_old_per_head_keys_are_gone(head):
    with pytest.raises(TypeError, match=r"\['loss_isl'\] are no longer head keys.*add_on"):
        MODELS.build(dict(type=head, loss_isl=dict(type='ImportanceSamplingLoss'),
                          **HEADS[head]))
    with pytest.raises(KeyError, match="unknown key.*'loss_weight'"):
        MODELS.build(dict(type=head, add_on=dict(isl=dict(loss_weight=0.2)), **HEADS[head]))
    with pytest.raises(KeyError, match="unknown key.*'gsl'"):
        MODELS.build(dict(type=head, add_on=dict(gsl=dict()), **HEADS[head]))


@pytest.mark.parametrize('head', ['CAMHead', 'SIPEHead', 'MCTformerHead'])
def test_add_on_losses_in_loss_decode_are_refused(head):
    losses = [dict(type='GAPMultiLabelLoss', loss_weight=0.8),
              dict(type='ImportanceSamplingLoss', loss_weight=0.2)]
    with pytest.raises(ValueError, match='add_on=dict'):
        MODELS.build(dict(type=head, loss_decode=losses, **HEADS[head]))


def test_lambda_outside_the_unit_interval_is_an_error():
    with pytest.raises(ValueError, match=r'lam.*\[0, 1\]'):
        AddOn(isl=dict(lam=1.5))


def test_add_on_is_eq16_and_fsl_on_hand_inputs():
    """``AddOn``: lambda * ISL (eqs. 14-18) with the same draws as the functional form, FSL
    (eqs. 9-13) on the gated (min-max r, eq. 4), up-sampled scores, and ``1 - lambda``."""
    torch.manual_seed(0)
    score = torch.randn(2, 3, 5, 6)
    label = torch.tensor([[1., 0., 1.], [0., 1., 0.]])
    image = torch.rand(2, 3, 20, 24)
    add_on = AddOn(**ADD_ON)
    torch.manual_seed(7)
    out = add_on(score, label, image=image)
    torch.manual_seed(7)
    isl = importance_sampling_loss(score, label, 5, 'binomial')
    torch.testing.assert_close(out['loss_isl'], 0.3 * isl)
    up = torch.nn.functional.interpolate(score, size=(10, 12), mode='bilinear',
                                         align_corners=False)
    gated = gate_scores(up, label, 'max_norm', True, True, None, subtract_min=True)
    small = torch.nn.functional.interpolate(image, size=(10, 12), mode='bilinear',
                                            align_corners=True)
    torch.testing.assert_close(out['loss_fsl'], 0.5 * pairwise_feature_similarity(
        small, gated, torch.tensor(2.0), torch.tensor(3.0)))
    assert list(out) == ['loss_isl', 'loss_fsl']
    with pytest.raises(ValueError, match='RGB input'):
        add_on(score, label, image=None)
    assert AddOn(fsl=dict()).cls_weight == 1.0 and AddOn(isl=dict()).lam == 0.2


def test_rgb_inputs_inverts_the_data_preprocessor():
    pre = MODELS.build(dict(type='SegDataPreProcessor', mean=[100., 110., 120.],
                            std=[50., 60., 70.]))
    image = torch.rand(1, 3, 4, 4) * 255
    normalised = (image - pre.mean) / pre.std
    torch.testing.assert_close(rgb_inputs(normalised, pre), image / 255)


def _all_configs():
    return sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs/**/*.py'),
                                                         recursive=True)
                  if '/_base_/' not in p and '/studies/' not in p and '/pipelines/' not in p)


def _losses_in(node, found):
    if isinstance(node, dict):
        if node.get('type') in ('ImportanceSamplingLoss', 'FeatureSimilarityLoss'):
            found.append(node['type'])
        for k, v in node.items():
            if k in ('loss_isl', 'loss_fsl'):
                found.append(k)
            _losses_in(v, found)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _losses_in(v, found)
    return found


def test_every_add_on_config_uses_add_on_and_no_config_the_old_keys():
    hfpl = 0
    for path in _all_configs():
        cfg = Config.fromfile(osp.join(ROOT, path))
        assert _losses_in(cfg.model.to_dict(), []) == [], path
        if path.startswith('configs/hfpl/'):
            add_on = cfg.model.decode_head.get('add_on')
            assert add_on and (add_on.get('isl') or add_on.get('fsl')), path
            hfpl += 1
        else:
            assert not cfg.model.get('decode_head', {}).get('add_on'), path
    assert hfpl == len(glob.glob(osp.join(ROOT, 'configs/hfpl/**/*.py'), recursive=True))


def test_add_on_configs_are_their_baseline_plus_the_add_on():
    """``configs/hfpl/*``: ``_base_`` is the baseline (a config outside configs/hfpl), and the
    resolved config differs from it in ``model.decode_head.add_on`` (and, for the multinomial
    CAM variants, the background channel it needs), the test-time / pseudo-label thresholds
    and CRF alphas the paper changes, nothing else."""
    allowed_top = {'model', 'pseudo_label_cfg'}
    allowed_model = {'decode_head', 'test_cfg'}
    allowed_head = {'add_on', 'background_channel'}
    for path in glob.glob(osp.join(ROOT, 'configs/hfpl/**/*.py'), recursive=True):
        cfg = Config.fromfile(path)
        with open(path) as f:
            text = f.read()
        base = [ln for ln in text.splitlines() if ln.startswith('_base_')]
        assert len(base) == 1 and '/hfpl/' not in base[0] and "'./" not in base[0], path
        base_path = osp.normpath(osp.join(osp.dirname(path), base[0].split("'")[1]))
        a, b = cfg.to_dict(), Config.fromfile(base_path).to_dict()
        top = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
        assert top <= allowed_top, (path, top - allowed_top)
        ma, mb = a['model'], b['model']
        model = {k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k)}
        assert model <= allowed_model, (path, model)
        ha, hb = ma['decode_head'], mb['decode_head']
        head = {k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k)}
        assert 'add_on' in head and head <= allowed_head, (path, head)
        if 'test_cfg' in model:
            diff = {k for k in ma['test_cfg'] if ma['test_cfg'][k] != mb['test_cfg'].get(k)}
            assert diff == {'bg_threshold'}, path
        if 'pseudo_label_cfg' in top:
            pa, pb = a['pseudo_label_cfg'], b['pseudo_label_cfg']
            diff = {k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k)}
            assert diff <= {'crf_alphas', 'bg_threshold', 'bg_search'}, (path, diff)
