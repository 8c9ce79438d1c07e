import json
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from mmseg_hfpl.models.affinity import affinity_label_targets, affinity_loss
from mmseg_hfpl.pseudo_labels import dense_affinity, neighbour_pairs, random_walk
from mmseg_hfpl.pseudo_labels.reference import (dense_random_walk, psa_affinity_labels,
                                                psa_pair_indices)
from mmseg_hfpl.pseudo_labels.generator import affinity_training_labels
from ..utils import output_files

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_neighbour_pairs_hand_counted():
    pairs = neighbour_pairs(3, 3, radius=2)  # 4-neighbours only (d^2 = 1 < 4; d^2 = 2 < 4 too)
    as_set = {tuple(p) for p in pairs.T.tolist()}
    # radius 2: offsets (0,1), (1,-1), (1,0), (1,1): each unordered pair of 8-neighbours once
    assert len(as_set) == len(pairs.T) == 6 + 6 + 4 + 4
    assert (0, 1) in as_set and (1, 0) not in as_set and (0, 4) in as_set and (2, 4) in as_set
    assert all(a < b for a, b in as_set)


def _random_pair_affinity(h, w, radius, crop_border, seed, dtype=torch.float64):
    pairs = neighbour_pairs(h, w, radius, crop_border)
    values = torch.rand(pairs.shape[1], generator=torch.Generator().manual_seed(seed),
                        dtype=dtype)
    return pairs, values


@pytest.mark.parametrize('h,w,radius,crop_border,beta,logt', [
    (7, 9, 5, True, 8.0, 6),  # PSA / SEAM / hfpl AffinityNet
    (11, 6, 5, False, 10.0, 8),  # IRN (no border crop, beta 10, 2^8 steps)
    (5, 5, 3, True, 2.0, 3),
])
def test_sparse_random_walk_equals_the_official_dense_walk(h, w, radius, crop_border, beta,
                                                           logt):
    pairs, values = _random_pair_affinity(h, w, radius, crop_border, seed=h * w)
    seeds = torch.rand(3, h * w, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    dense = dense_random_walk(dense_affinity(pairs, values, h * w), seeds, beta, logt)
    sparse = random_walk(pairs, values, h * w, seeds, beta, logt)
    assert sparse.dtype == torch.float64 and (sparse - dense).abs().max() < 1e-10
    # columns of T sum to 1: every output is a convex combination of the seeds
    assert (sparse.min(1)[0] >= seeds.min(1)[0] - 1e-12).all()
    assert (sparse.max(1)[0] <= seeds.max(1)[0] + 1e-12).all()
    const = torch.full((1, h * w), 0.39, dtype=torch.float64)
    assert torch.allclose(random_walk(pairs, values, h * w, const, beta, 2), const)


def test_seeds_stay_seeds_without_affinity_and_do_not_cross_disconnected_regions():
    seeds = torch.tensor([[1., 0., 0., 0.], [0., 0., 1., 0.]], dtype=torch.float64)
    pairs = torch.tensor([[0, 2], [1, 3]])  # 0-1 and 2-3 connected, nothing between
    none = torch.zeros(2, dtype=torch.float64)
    assert torch.equal(random_walk(pairs, none, 4, seeds, 8, 6), seeds)
    out = random_walk(pairs, torch.ones(2, dtype=torch.float64), 4, seeds, 8, 2)
    assert torch.allclose(out, torch.tensor([[.5, .5, 0, 0], [0, 0, .5, .5]],
                                            dtype=torch.float64))


def test_psa_pair_set_leaves_out_border_sources():
    for h, w in ((8, 9), (56, 56), (12, 10)):
        ind_from, ind_to = psa_pair_indices(5, (h, w))
        offsets = len(ind_to) // len(ind_from)
        official = np.stack([np.tile(ind_from, offsets), ind_to])
        ours = neighbour_pairs(h, w, 5, crop_border=True).numpy()
        assert np.array_equal(ours, official)  # the same pairs in the same order
    full = neighbour_pairs(8, 9, 5).shape[1]
    assert neighbour_pairs(8, 9, 5, crop_border=True).shape[1] < full


def test_dense_affinity_is_symmetric_with_unit_diagonal():
    pairs = neighbour_pairs(2, 3, 2)
    values = torch.linspace(0.1, 0.9, pairs.shape[1])
    aff = dense_affinity(pairs, values, 6)
    assert torch.equal(aff, aff.T) and torch.equal(aff.diagonal(), torch.ones(6))
    assert aff[pairs[0, 3], pairs[1, 3]] == values[3]


def test_affinity_targets_and_loss_hand_computed():
    label = torch.tensor([0, 0, 2, 255])
    pairs = torch.tensor([[0, 0, 1, 2, 2], [1, 2, 2, 3, 0]])
    bg, fg, neg = affinity_label_targets(label, pairs)
    assert bg.tolist() == [1, 0, 0, 0, 0]
    assert fg.tolist() == [0, 0, 0, 0, 0]
    assert neg.tolist() == [0, 1, 1, 0, 1]
    aff = torch.tensor([0.9, 0.2, 0.3, 0.5, 0.4])
    loss = affinity_loss(aff, bg, fg, neg)
    assert loss['loss_aff_bg'].item() == pytest.approx(0.25 * -math.log(0.9 + 1e-5), rel=1e-4)
    assert loss['loss_aff_fg'].item() == 0.0
    expected_neg = 0.5 * -(math.log(0.8) + math.log(0.7) + math.log(0.6)) / 3
    assert loss['loss_aff_neg'].item() == pytest.approx(expected_neg, rel=1e-4)


def test_affinity_training_labels():
    low = np.array([[0, 1, 1], [0, 0, 2]], np.uint8)  # strong background: confident objects
    high = np.array([[0, 1, 1], [1, 0, 2]], np.uint8)  # weak background: confident background
    assert affinity_training_labels(low, high).tolist() == [[0, 1, 1], [255, 0, 2]]


def test_affinitynet_end_to_end(synthetic_root, tiny_checkpoint, tmp_path):
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]

    def run(args, tool_opts=opts):
        res = subprocess.run([sys.executable, *args, '--cfg-options', *tool_opts], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout + res.stderr

    pl = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py', tiny_checkpoint, '--out',
         str(pl), '--scales', '1.0', '--crf', '1', '24', '--affinity-labels'])
    assert len(output_files(pl / 'aff_label')) == len(output_files(pl / 'aff_crf')) == 16
    aff_opts = [f'train_dataloader.dataset.data_root={synthetic_root}',
                f'test_dataloader.dataset.data_root={synthetic_root}',
                f'pseudo_label_dir={pl / "aff_crf"}',
                'train_cfg.max_iters=4', 'param_scheduler.0.end=4',
                'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
                'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False']
    log = run(['tools/train.py', 'configs/affinity/affinitynet_r18tiny_synthetic.py',
               '--work-dir', str(tmp_path / 'aff')], aff_opts)
    assert 'loss_aff_bg' in log and 'loss_aff_neg' in log
    log = run(['tools/refine_pseudo_labels.py', 'configs/affinity/affinitynet_r18tiny_synthetic.py',
               str(tmp_path / 'aff' / 'iter_4.pth'), '--cams', str(pl / 'cams'), '--out',
               str(pl / 'aff'), '--logt', '3'], aff_opts[:2])
    assert re.search(r'random walk  J [0-9.]+  F [0-9.]+  J&F [0-9.]+', log)
    assert 'scored 16 images of test_dataloader' in log
    assert len(output_files(pl / 'aff')) == 17  # 16 labels + metrics.json


def test_line_offsets_and_boundary_affinity_hand_made():
    from mmseg_hfpl.models.affinity import boundary_pair_affinity, line_offsets
    assert line_offsets(0, 3) == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert line_offsets(2, -2) == [(0, 0), (1, -1), (2, -2)]
    # a 1x5 strip with a boundary of 0.9 on the middle pixel
    edge = torch.tensor([[[0.1, 0.0, 0.9, 0.2, 0.0]]])
    aff = boundary_pair_affinity(edge, radius=3)
    pairs = neighbour_pairs(1, 5, 3)
    got = {tuple(p): a for p, a in zip(pairs.T.tolist(), aff[0].tolist())}
    assert got[(0, 1)] == pytest.approx(1 - 0.1)  # max(e0, e1)
    assert got[(1, 3)] == pytest.approx(1 - 0.9)  # the path crosses the boundary
    assert got[(3, 4)] == pytest.approx(1 - 0.2)
    assert got[(0, 2)] == pytest.approx(1 - 0.9)
    assert set(got) == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 2), (1, 3), (2, 4)}


def test_ir_training_labels_are_confident_objects_and_background(monkeypatch):
    from mmseg_hfpl.pseudo_labels import generator
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 200
    x = np.arange(20)[None].repeat(20, 0)
    cam = (1 / (1 + np.exp(-2 * (x - 9.5)))).astype(np.float32)[None]  # the bright half
    # with the CRF: both thresholded maps snap to the colour edge at x = 10
    label = generator.ir_training_labels(img, cam, np.array([4]), 0.9, 0.01)
    assert label[0].tolist() == [0] * 10 + [4] * 10
    # the combination rule itself (CRF as identity): objects above the high threshold,
    # background below the low one, unknown (255) in between
    monkeypatch.setattr(generator, 'crf_label_refine', lambda img, lab, cls, **kw: lab)
    label = generator.ir_training_labels(img, cam, np.array([4]), 0.9, 0.01)
    expected = np.where(cam[0] > 0.9, 4, np.where(cam[0] > 0.01, 255, 0))
    assert (label == expected).all() and set(np.unique(label)) == {0, 4, 255}


def test_irn_end_to_end(synthetic_root, tiny_checkpoint, tmp_path):
    opts = [f'{k}.dataset.data_root={synthetic_root}' for k in ('train_dataloader',
                                                                'val_dataloader',
                                                                'test_dataloader')]

    def run(args, tool_opts):
        res = subprocess.run([sys.executable, *args, '--cfg-options', *tool_opts], cwd=ROOT,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
        return res.stdout + res.stderr

    pl = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py', tiny_checkpoint, '--out',
         str(pl), '--scales', '1.0', '--ir-labels', '0.3', '0.05'], opts)
    ir = [np.asarray(Image.open(pl / 'ir_label' / f)) for f in output_files(pl / 'ir_label')]
    assert len(ir) == 16 and any((x == 255).any() for x in ir)
    irn_opts = [f'train_dataloader.dataset.data_root={synthetic_root}',
                f'test_dataloader.dataset.data_root={synthetic_root}',
                f'pseudo_label_dir={pl / "ir_label"}',
                'train_cfg.max_iters=4', 'param_scheduler.0.end=4',
                'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1',
                'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False']
    log = run(['tools/train.py', 'configs/irn/irn_r18tiny_synthetic.py', '--work-dir',
               str(tmp_path / 'irn')], irn_opts)
    assert 'loss_irn_bg' in log and 'loss_irn_neg' in log
    log = run(['tools/refine_pseudo_labels.py', 'configs/irn/irn_r18tiny_synthetic.py',
               str(tmp_path / 'irn' / 'iter_4.pth'), '--cams', str(pl / 'cams'), '--out',
               str(pl / 'irn'), '--beta', '10', '--logt', '4', '--bg-threshold', '0.25'],
              irn_opts[:2])
    assert re.search(r'random walk  J [0-9.]+  F [0-9.]+  J&F [0-9.]+', log)
    labels = json.load(open(os.path.join(synthetic_root, 'cls_labels.json')))['labels']
    for name, present in labels.items():
        if name.startswith('train'):
            got = np.unique(np.asarray(Image.open(pl / 'irn' / f'{name}.png')))
            assert set(got.tolist()) <= {0, *present}
    # SIPE's bilinear seeds (--seed-resize) are part of the output's fingerprint: the
    # average-pooled labels of pl/irn are never mixed with them
    bilinear = ['tools/refine_pseudo_labels.py', 'configs/irn/irn_r18tiny_synthetic.py',
                str(tmp_path / 'irn' / 'iter_4.pth'), '--cams', str(pl / 'cams'), '--beta', '10',
                '--logt', '4', '--bg-threshold', '0.25', '--seed-resize', 'bilinear',
                '--score-split', 'none']
    res = subprocess.run([sys.executable, *bilinear, '--out', str(pl / 'irn'), '--cfg-options',
                          *irn_opts[:2]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0 and "seed_resize: None -> 'bilinear'" in res.stderr
    run([*bilinear, '--out', str(pl / 'irn_bilinear')], irn_opts[:2])
    assert 'seed_resize' not in json.load(open(pl / 'irn' / '.fingerprint.json'))
    assert json.load(open(pl / 'irn_bilinear' / '.fingerprint.json'))['seed_resize'] == 'bilinear'
    assert output_files(pl / 'irn_bilinear') == [f for f in output_files(pl / 'irn')
                                                 if f.endswith('.png')]


def test_affinitynet_initialisation_is_psa_s():
    """kaiming_normal_ (fan_in, gain sqrt 2) for the projections, xavier_uniform_ gain 4 for the
    fusion (network/resnet38_aff.py), instead of PyTorch's defaults."""
    from mmseg_hfpl.models.affinity import AffinityNet
    torch.manual_seed(0)
    model = AffinityNet(backbone=dict(type='ResNetV1c', depth=18, base_channels=8,
                                      stem_channels=8, out_indices=(1, 2, 3)),
                        in_index=(0, 1, 2), in_channels=(16, 32, 64),
                        mid_channels=(64, 128, 256), out_channels=448)
    for proj, fan_in in zip(model.projs, (16, 32, 64)):
        std = proj[0].weight.std().item()
        assert std == pytest.approx(math.sqrt(2.0 / fan_in), rel=0.05)
    weight = model.fuse.weight
    bound = 4 * math.sqrt(6.0 / (448 + 448))
    assert weight.abs().max().item() <= bound
    assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # uniform std
    # PyTorch's default (kaiming_uniform a=sqrt 5) would give std 1/sqrt(3 fan_in) = 0.0193
    assert weight.std().item() > 5 / math.sqrt(3 * 448)


def test_block_reduce_reference_pads_the_end_with_zeros():
    from mmseg_hfpl.pseudo_labels.reference import block_reduce_mean
    # the example of skimage.measure.block_reduce's docstring
    image = np.arange(3 * 3 * 4).reshape(3, 3, 4)
    np.testing.assert_array_equal(block_reduce_mean(image, (3, 3, 1)),
                                  [[[16., 17., 18., 19.]]])
    # 3 x 3 ones in 2 x 2 blocks: zero padding at the end enters the means
    np.testing.assert_array_equal(block_reduce_mean(np.ones((3, 3)), (2, 2)),
                                  [[1., 0.5], [0.5, 0.25]])


def test_pooled_affinity_labels_equal_psa_on_random_crf_maps():
    from mmseg_hfpl.datasets.affinity_transforms import pooled_affinity_labels
    rng = np.random.default_rng(3)
    for h, w in ((48, 40), (45, 37)):  # a multiple of 8, and one padded as block_reduce
        low = rng.dirichlet(np.ones(3), (h, w)).astype(np.float32)
        high = rng.dirichlet(np.ones(3), (h, w)).astype(np.float32)
        low[:8] = 0  # a no-score region (outside the image in the crop container)
        high[:8] = 0
        ours = pooled_affinity_labels(low, high, 8)
        assert np.array_equal(ours, psa_affinity_labels(low, high, 8))
        assert ours.shape == (-(-h // 8), -(-w // 8)) and (ours[0] == 255).all()
        assert {0, 255} <= set(np.unique(ours).tolist())


@pytest.mark.parametrize('flip_prob', [0.0, 1.0])
def test_affinity_labels_from_crf_crops_image_and_maps_together(tmp_path, flip_prob):
    """The image and the CRF maps get the same (PSA) crop and flip: labels re-derived from the
    cropped image alone equal the transform's."""
    from mmseg_hfpl.datasets import AffinityLabelsFromCRF
    from mmseg_hfpl.pseudo_labels.generator import save_crf_maps
    h, w = 40, 72  # wider than the crop, shorter than it: a window in x, a container in y
    obj = np.zeros((h, w), bool)
    obj[5:30, 36:] = True
    maps = np.stack([~obj, obj]).astype(np.float32)
    save_crf_maps(str(tmp_path / 'a.npz'), maps, maps)
    img = np.where(obj, 200, 50).astype(np.uint8)[..., None].repeat(3, -1)
    for seed in range(4):
        np.random.seed(seed)
        out = AffinityLabelsFromCRF(crop_size=48, pool=8, flip_prob=flip_prob)(
            dict(img=img, seg_map_path=str(tmp_path / 'a.npz')))
        crop, label = out['img'][..., 0], out['gt_seg_map']
        assert crop.shape == (48, 48) and label.shape == (6, 6) and out['img_shape'] == (48, 48)
        assert (crop > 0).sum() == 40 * 48 and out['flip'] == bool(flip_prob)
        inside, on = crop > 0, crop == 200
        low = np.stack([inside & ~on, on], -1).astype(np.float32)
        assert np.array_equal(label, psa_affinity_labels(low, low, 8))
        assert {0, 1} <= set(np.unique(label).tolist())
    with pytest.raises(ValueError, match='a.npz'):
        AffinityLabelsFromCRF(crop_size=48)(dict(img=img[:, :10], img_path='x.jpg',
                                                 seg_map_path=str(tmp_path / 'a.npz')))


class _FixedAffinity(torch.nn.Module):
    """A model whose affinity on the stride-8 grid is fixed random numbers (PSA radius 5)."""
    output_stride = 8

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = None

    def data_preprocessor(self, data, training):
        return dict(inputs=torch.stack(data['inputs']).float() / 255.0 + 0.5)

    def pair_affinities(self, inputs):
        self.seen = inputs
        fh, fw = inputs.shape[2] // 8, inputs.shape[3] // 8
        pairs = neighbour_pairs(fh, fw, 5, crop_border=True)
        values = torch.rand(pairs.shape[1], generator=torch.Generator().manual_seed(7))
        return pairs, values[None], (fh, fw)


@pytest.mark.parametrize('background', ['alpha', 'constant'])
def test_padded_random_walk_equals_psa_infer_aff(background):
    """hfpl's infer_aff_voc.py (background seed (1 - max)^6) and MCTformer's psa/infer_aff.py
    (constant seed 0.39, walked too): pad image and CAMs to a multiple of 8, avg_pool2d(8)
    seeds, dense walk, bilinear up-sampling to the padded size, argmax, crop."""
    from mmseg_hfpl.pseudo_labels.refine import random_walk_labels
    rng = np.random.default_rng(4)
    h, w = 61, 45
    image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cams = rng.random((2, h, w)).astype(np.float32)
    classes = np.array([2, 5])
    model = _FixedAffinity()
    opts = dict(bg_alpha=6) if background == 'alpha' else dict(bg_seed=0.39)
    ours = random_walk_labels(model, image, cams, classes, beta=8, logt=3, **opts)
    ph, pw = 64, 48
    assert model.seen.shape[-2:] == (ph, pw) and (model.seen[..., h:, :] == 0).all()
    full = np.zeros((6, h, w), np.float32)
    full[classes] = cams
    full[0] = (1 - np.max(full[1:], 0))**6 if background == 'alpha' else 0.39
    full = np.pad(full, ((0, 0), (0, ph - h), (0, pw - w)))
    seeds = torch.nn.functional.avg_pool2d(torch.from_numpy(full), 8, 8)
    pairs, values, _ = model.pair_affinities(torch.zeros(1, 3, ph, pw))
    aff = dense_affinity(pairs, values[0], 48)
    rw = dense_random_walk(aff, seeds.view(6, -1), 8, 3).view(1, 6, 8, 6)
    rw = torch.nn.Upsample((ph, pw), mode='bilinear')(rw)
    official = np.uint8(rw.argmax(1)[0].numpy())[:h, :w]
    assert ours.shape == (h, w) and (ours == official).mean() > 0.999


class _FixedBoundary(torch.nn.Module):
    """An IRN stand-in: fixed random affinities of every radius-5 pair on the stride-4 grid,
    weak (x0.1) across the borders of three column bands, and fixed random seed weights (IRN's
    ``1 - edge``)."""
    output_stride = 4

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def data_preprocessor(self, data, training):
        return dict(inputs=torch.stack(data['inputs']).float() / 255.0)

    def pair_affinities(self, inputs):
        fh, fw = inputs.shape[2] // 4, inputs.shape[3] // 4
        pairs = neighbour_pairs(fh, fw, 5)
        g = torch.Generator().manual_seed(3)
        values = 0.5 + 0.5 * torch.rand(pairs.shape[1], generator=g)
        band = (pairs % fw) * 3 // fw
        values = torch.where(band[0] == band[1], values, 0.1 * values)
        return pairs, values[None], (fh, fw)

    def seed_weight(self, inputs):
        g = torch.Generator().manual_seed(5)
        return torch.rand(1, inputs.shape[2] // 4, inputs.shape[3] // 4, generator=g)


def _sipe_make_seg_labels(model, image, is_cam, keys, beta, exp_times):
    """SIPE ``make_seg_labels.py:46-54`` (``indexing.propagate_to_edge``, radius 5) on a model
    with fixed affinities: the IS-CAM (background first) resized bilinearly to the IRN grid
    ``(x - 1) // 4 + 1``, ``** 1.5``, damped by ``1 - edge``, walked, up-sampled x4, cropped,
    divided by the global maximum, arg-maxed."""
    h, w = image.shape[:2]
    feat = ((h - 1) // 4 + 1, (w - 1) // 4 + 1)
    cams = torch.nn.functional.interpolate(torch.tensor(is_cam).unsqueeze(1), feat,
                                           mode='bilinear', align_corners=False)[:, 0]
    cams = np.power(cams, 1.5)
    grid = torch.zeros(1, 3, feat[0] * 4, feat[1] * 4)
    pairs, values, _ = model.pair_affinities(grid)
    x = cams * model.seed_weight(grid)[0]  # x * (1 - edge)
    aff = dense_affinity(pairs, values[0].double(), feat[0] * feat[1])
    rw = dense_random_walk(aff, x.reshape(len(keys), -1).double(), beta, exp_times)
    rw = rw.view(len(keys), 1, *feat).float()
    rw_up = torch.nn.functional.interpolate(rw, scale_factor=4, mode='bilinear',
                                            align_corners=False)[..., 0, :h, :w]
    rw_up = rw_up / torch.max(rw_up)
    return keys[torch.argmax(rw_up, dim=0).numpy()], cams


def test_bilinear_walk_seeds_equal_sipe_make_seg_labels():
    """``seed_resize='bilinear'`` with ``cam_power=1.5`` (SIPE's command): the seeds are SIPE's
    bilinear resize then power, and the labels its walk's, for CAMs with their own background
    map; the default (PSA's average pooling) gives other seeds."""
    from mmseg_hfpl.pseudo_labels.refine import random_walk_labels, walk_seeds
    rng = np.random.default_rng(11)
    h, w = 37, 30  # not multiples of 4: grid 10 x 8
    image = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    cams = rng.random((3, h, w)).astype(np.float32)
    for c, cols in enumerate((slice(0, 10), slice(10, 20), slice(20, 30))):
        cams[c, :, cols] += 1.0  # each map strongest in one band
    cams /= cams.max(axis=(1, 2), keepdims=True)
    classes = np.array([0, 2, 5])  # SIPE's IS-CAM: its background map first
    model = _FixedBoundary()
    official, official_seeds = _sipe_make_seg_labels(model, image, cams, classes.astype(np.uint8),
                                                     beta=10, exp_times=8)
    seeds = walk_seeds(torch.from_numpy(cams), (10, 8), 4, 'bilinear', 1.5)
    assert seeds.shape == (3, 10, 8)
    assert torch.allclose(seeds, official_seeds, rtol=1e-6, atol=1e-7)
    pooled = walk_seeds(torch.from_numpy(cams), (10, 8), 4, 'avg_pool', 1.5)
    assert (pooled - official_seeds).abs().max() > 0.05
    ours = random_walk_labels(model, image, cams, classes, beta=10, logt=8, cam_power=1.5,
                              seed_resize='bilinear')
    assert ours.shape == (h, w) and len(np.unique(official)) == 3
    assert (ours == official).mean() > 0.999
    default = random_walk_labels(model, image, cams, classes, beta=10, logt=8, cam_power=1.5)
    assert (default != official).mean() > 0.01
    with pytest.raises(ValueError, match="seed_resize must be one of.*'nearest'"):
        random_walk_labels(model, image, cams, classes, seed_resize='nearest')


def test_avg_pool_walk_seeds_are_the_power_then_the_padded_mean():
    """The default seeds (PSA): ``maps ** power`` zero-padded to the grid and 4x4 block means,
    negative values clipped first."""
    from mmseg_hfpl.pseudo_labels.refine import walk_seeds
    maps = torch.tensor([[[4.0, 0.0, 1.0], [-1.0, 9.0, 1.0]]])  # (1, 2, 3) -> grid (1, 2)
    seeds = walk_seeds(maps, (1, 2), 2, 'avg_pool', 0.5)
    assert torch.allclose(seeds, torch.tensor([[[(2 + 0 + 0 + 3) / 4, (1 + 1) / 4]]]))
    bilinear = walk_seeds(maps, (1, 1), 2, 'bilinear', 2.0)
    # one grid cell: the bilinear sample at the image centre (row 0.5, column 1), squared
    assert torch.allclose(bilinear, torch.tensor([[[((0 + 9) / 2)**2]]]))
