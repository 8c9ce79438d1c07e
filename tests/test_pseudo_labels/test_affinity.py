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
from mmseg_hfpl.pseudo_labels.generator import affinity_training_labels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_neighbour_pairs_hand_counted():
    pairs = neighbour_pairs(3, 3, radius=2)  # 4-neighbours only (d^2 = 1 < 4; d^2 = 2 < 4 too)
    as_set = {tuple(p) for p in pairs.T.tolist()}
    # radius 2: offsets (0,1), (1,-1), (1,0), (1,1): each unordered pair of 8-neighbours once
    assert len(as_set) == len(pairs.T) == 6 + 6 + 4 + 4
    assert (0, 1) in as_set and (1, 0) not in as_set and (0, 4) in as_set and (2, 4) in as_set
    assert all(a < b for a, b in as_set)


def test_random_walk_matches_matrix_power_and_conserves():
    gen = torch.Generator().manual_seed(0)
    n = 6
    a = torch.rand(n, n, generator=gen, dtype=torch.float64)
    aff = (a + a.T) / 2
    aff.fill_diagonal_(1.0)
    seeds = torch.rand(3, n, generator=gen, dtype=torch.float64)
    out = random_walk(aff, seeds, beta=2.0, logt=3)
    trans = aff.pow(2.0)
    trans = trans / trans.sum(0, keepdim=True)
    assert torch.allclose(out, seeds @ torch.linalg.matrix_power(trans, 8))
    # columns of T sum to 1: every output is a convex combination of the seeds
    assert (out.min(1)[0] >= seeds.min(1)[0] - 1e-12).all()
    assert (out.max(1)[0] <= seeds.max(1)[0] + 1e-12).all()
    const = torch.full((1, n), 0.7, dtype=torch.float64)
    assert torch.allclose(random_walk(aff, const, 3.0, 4), const)  # a constant is a fixed point


def test_seeds_stay_seeds_without_affinity_and_do_not_cross_disconnected_regions():
    seeds = torch.tensor([[1., 0., 0., 0.], [0., 0., 1., 0.]])
    eye = torch.eye(4)
    assert torch.equal(random_walk(eye, seeds, 8, 6), seeds)
    block = torch.zeros(4, 4)
    block[:2, :2] = 1
    block[2:, 2:] = 1
    out = random_walk(block, seeds, 8, 2)
    assert torch.allclose(out, torch.tensor([[.5, .5, 0, 0], [0, 0, .5, .5]]))


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
    aff_labels = sorted(os.listdir(pl / 'aff_label'))
    assert len(aff_labels) == 16
    aff_opts = [f'train_dataloader.dataset.data_root={synthetic_root}',
                f'test_dataloader.dataset.data_root={synthetic_root}',
                f'train_dataloader.dataset.data_prefix.seg_map_path={pl / "aff_label"}',
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
    assert len(os.listdir(pl / 'aff')) == 17  # 16 labels + metrics.json


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
    ir = [np.asarray(Image.open(pl / 'ir_label' / f)) for f in sorted(os.listdir(pl / 'ir_label'))]
    assert len(ir) == 16 and any((x == 255).any() for x in ir)
    irn_opts = [f'train_dataloader.dataset.data_root={synthetic_root}',
                f'test_dataloader.dataset.data_root={synthetic_root}',
                f'train_dataloader.dataset.data_prefix.seg_map_path={pl / "ir_label"}',
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
