"""Spatial-BCE's pseudo-labels against the official arithmetic (allenwu97/Spatial-BCE): the
multi-scale fusion of ``make_cam.py`` (one fusion for ``predict`` and ``multi_scale_cams``), the
learned thresholds of ``transnpy``, the threshold search of ``eval.py``, the label CRF of
``tools/imutils.py`` and the options of ``tools/make_pseudo_labels.py`` that reach them."""
import argparse
import importlib.util
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image
from scipy.optimize import fsolve

from mmseg_hfpl.models.segmentors.spatial_bce import fuse_cam_passes
from mmseg_hfpl.pseudo_labels import (PseudoLabelGenerator, crf_label_refine, labels_from_cams,
                                      load_cams, multi_scale_cams)
from mmseg_hfpl.pseudo_labels.cam_inference import load_thresholds, save_cams, threshold_shift
from mmseg_hfpl.pseudo_labels.generator import SPATIAL_BCE_BG_SEARCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_FG = 3
PRE = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255)


class PooledImage(nn.Module):
    """A stand-in backbone: the normalised image average-pooled to a stride-4 grid, so that the
    CAMs of a few random 1x1 heads follow the image's colour blobs."""

    def forward(self, x):
        return [F.avg_pool2d(x, 4, ceil_mode=True)]


def tiny_model(threshold='fixed', seed=0):
    """A Spatial-BCE segmentor (3 classes) on :class:`PooledImage`, scores of order 1."""
    torch.manual_seed(seed)
    model = MODELS.build(dict(
        type='SpatialBCESegmentor', data_preprocessor=PRE,
        backbone=dict(type='ResNet38d', base_channels=8, out_indices=(3, ), init_cfg=None),
        decode_head=dict(type='SpatialBCEHead', in_channels=3, channels=8,
                         num_classes=NUM_FG + 1, in_index=0, fg_prior=dict(default=0.1)),
        test_cfg=dict(mode='whole', threshold=threshold, bg_threshold=0.3)))
    model.backbone = PooledImage()
    with torch.no_grad():
        for conv in [*model.decode_head.fc_list, model.decode_head.threshold]:
            conv.weight.mul_(10)
        model.decode_head.temperature.copy_(torch.log(torch.tensor([10.0, 4.0, 2.0])))
    return model.eval()


def image(seed=0, h=40, w=52):
    """A smooth random image (blobs of colour), so that the CAMs have structure."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def predict(model, img, label):
    data = model.data_preprocessor(dict(inputs=[torch.from_numpy(img).permute(2, 0, 1)]),
                                   False)
    h, w = img.shape[:2]
    sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
    sample.gt_img_label = torch.tensor(label, dtype=torch.float32)
    sample.gt_sem_seg = PixelData(data=torch.zeros(1, h, w, dtype=torch.long))
    with torch.no_grad():
        return model.predict(data['inputs'], [sample])[0]


@pytest.mark.parametrize('threshold', ['fixed', 'adaptive'])
def test_one_scale_without_flip_equals_predict(threshold):
    model = tiny_model(threshold)
    img = image()
    label = np.array([1, 0, 1], np.float32)
    cams, classes, thr = multi_scale_cams(model, img, label, scales=(1.0, ), flip=False,
                                          with_thresholds=True)
    assert classes.tolist() == [1, 3] and cams.shape == (2, 40, 52) and thr.shape == (2, )
    out = predict(model, img, label)
    scores = out.seg_logits.data.numpy()
    if threshold == 'fixed':  # [bg, the same fused CAMs of the labelled classes, 0 elsewhere]
        np.testing.assert_allclose(scores[[1, 3]], cams, atol=1e-6)
        assert np.all(scores[2] == 0) and np.all(scores[0] == 0.3)
    else:  # [0, threshold_shift of the same CAMs with the same thresholds, -1 elsewhere]
        np.testing.assert_allclose(scores[[1, 3]], threshold_shift(cams, thr), atol=1e-6)
        assert np.all(scores[2] == -1) and np.all(scores[0] == 0)
        np.testing.assert_array_equal(out.pred_sem_seg.data[0].numpy(),
                                      labels_from_cams(cams, classes, 0.3, thresholds=thr))
    # both halves of the check see real structure: several pixels per class, some background
    pred = out.pred_sem_seg.data[0].numpy()
    assert all((pred == c).sum() > 20 for c in (0, 1, 3)), np.unique(pred, return_counts=True)
    assert np.allclose(cams.reshape(2, -1).max(1), 1, atol=1e-6)


def official_make_cam(cam_list, threshold_list, label, temperature, orig_size):
    """``make_cam.py:74-102`` + ``transnpy`` (with ``fsolve`` from 0.2, as there) on the raw
    per-pass outputs (passes in the order scale 0, its flip, scale 1, ...)."""
    cams, thrs = [], []
    for i, (cam, thr) in enumerate(zip(cam_list, threshold_list)):
        thr = F.interpolate(thr[None], orig_size, mode='bilinear', align_corners=False)[0]
        thrs.append(thr.view(NUM_FG, orig_size[0] * orig_size[1]))
        cam = F.interpolate(cam[None], orig_size, mode='bilinear', align_corners=False)[0]
        cam = cam.numpy()
        if i % 2 == 1:
            cam = np.flip(cam, axis=-1)
        cams.append(cam)
    sum_cam = torch.sigmoid(torch.from_numpy(np.mean(cams, axis=0)))
    sum_cam = sum_cam * label.view(NUM_FG, 1, 1)
    max_value = torch.max(sum_cam, dim=0)[0]
    sum_cam.masked_fill_(~(sum_cam >= max_value), 0)
    sum_cam = sum_cam.numpy()
    norm_cam = sum_cam / (np.max(sum_cam, (1, 2), keepdims=True) + 1e-8)
    norm_cam = norm_cam * label.numpy().reshape(NUM_FG, 1, 1)
    a = torch.sigmoid(torch.stack(thrs).mean(dim=0).mean(dim=1)).numpy()
    thresholds = {}
    for key in np.flatnonzero(label.numpy() > 1e-5):
        t = temperature[key]
        root = fsolve(lambda x: 1 / (1 + np.exp(-math.exp(t) * x)) - a[key], 0.2)[0]
        thresholds[key] = 1 / (1 + math.exp(-root))
    return norm_cam, thresholds


class ReplayModel(nn.Module):
    """Hands ``multi_scale_cams`` given raw per-pass outputs (per input size) and fuses them with
    Spatial-BCE's :func:`fuse_cam_passes`."""

    def __init__(self, outputs, temperature):
        super().__init__()
        self.outputs = outputs
        self.temperature = torch.tensor(temperature)
        self.anchor = nn.Parameter(torch.zeros(1))
        self.data_preprocessor = lambda data, training: dict(
            inputs=torch.stack(data['inputs']))

    def cam_pass_maps(self, inputs, metas):
        return self.outputs[tuple(inputs.shape[2:])]

    def fuse_cam_passes(self, maps, classes):
        cams, thresholds = fuse_cam_passes(maps['cam'], maps['threshold'],
                                           self.temperature[classes])
        return dict(cams=cams, thresholds=thresholds)


def test_multi_scale_flip_fusion_equals_make_cam_on_random_logits():
    gen = torch.Generator().manual_seed(0)
    h, w = 30, 44
    scales = (1.0, 0.5, 1.5, 2.0)  # the official order
    temperature = [math.log(10.0), math.log(3.0), 0.5]
    outputs, cam_list, threshold_list = {}, [], []
    for s in scales:
        size = (round(h * s), round(w * s))
        grid = (-(-size[0] // 8), -(-size[1] // 8))  # the stride-8 feature grid
        cam = torch.randn(2, NUM_FG, *grid, generator=gen) * 3  # the pass and its flip
        thr = torch.randn(2, NUM_FG, *grid, generator=gen) + 0.5
        outputs[size] = dict(cam=cam, threshold=thr)
        cam_list += [cam[0], cam[1]]
        threshold_list += [thr[0], thr[1]]
    label = np.array([1, 0, 1], np.float32)
    model = ReplayModel(outputs, temperature)
    img = np.zeros((h, w, 3), np.uint8)
    cams, classes, thr = multi_scale_cams(model, img, label, scales=scales, flip=True,
                                          with_thresholds=True)
    ref_cam, ref_thr = official_make_cam(cam_list, threshold_list, torch.from_numpy(label),
                                         temperature, (h, w))
    assert classes.tolist() == [1, 3]
    np.testing.assert_allclose(cams, ref_cam[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(thr, [ref_thr[0], ref_thr[2]], atol=1e-6)
    assert not np.allclose(thr[0], thr[1], atol=1e-3)  # the temperatures matter
    # the former fusion (sum of the sigmoids, per-class max-norm) is measurably different
    old = sum(torch.sigmoid(F.interpolate(c[None], (h, w), mode='bilinear',
                                          align_corners=False))[0].flip(-1) if i % 2 else
              torch.sigmoid(F.interpolate(c[None], (h, w), mode='bilinear',
                                          align_corners=False))[0]
              for i, c in enumerate(cam_list))[[0, 2]]
    old = (old / old.flatten(1).max(1)[0][:, None, None]).numpy()
    assert np.abs(old - cams).max() > 0.1
    with pytest.raises(ValueError, match="normalisation must be 'max'"):
        multi_scale_cams(model, img, label, scales=scales, normalisation='min_max')


def official_crf_inference_label(img, labels, n_labels, t=10, gt_prob=0.7):
    """Spatial-BCE ``tools/imutils.py:7-21``."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_labels
    h, w = img.shape[:2]
    d = dcrf.DenseCRF2D(w, h, n_labels)
    d.setUnaryEnergy(unary_from_labels(labels, n_labels, gt_prob=gt_prob, zero_unsure=False))
    d.addPairwiseGaussian(sxy=3, compat=3)
    d.addPairwiseBilateral(sxy=40, srgb=5, rgbim=np.ascontiguousarray(np.copy(img)), compat=10)
    return np.array(d.inference(t)).reshape((n_labels, h, w))


def spatial_bce_label_crf():
    cfg = Config.fromfile(osp.join(ROOT, 'configs/spatial_bce/spatial-bce_r38_voc.py'))
    return dict(cfg.pseudo_label_cfg.label_crf)


def test_label_crf_of_the_config_equals_make_crf():
    rng = np.random.default_rng(0)  # smooth colour blobs under two overlapping label boxes
    img = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (96, 72),
                     interpolation=cv2.INTER_LINEAR)
    label = np.zeros((72, 96), np.uint8)
    label[10:50, 20:70] = 4
    label[40:70, 50:90] = 2
    classes = np.array([2, 4])
    settings = spatial_bce_label_crf()
    assert settings == dict(gt_prob=0.7, iterations=10, gaussian=(3, 3), bilateral=(40, 5, 10))
    ours = crf_label_refine(img, label, classes, **settings)
    keys = np.array([0, 2, 4])
    compact = np.searchsorted(keys, label)
    ref = keys[np.argmax(official_crf_inference_label(img, compact, 3), axis=0)]
    np.testing.assert_array_equal(ours, ref)
    assert (ours != label).any()  # the CRF did something
    # IRN's kernel (sxy 50), still the default for the other methods, is another CRF
    irn = crf_label_refine(img, label, classes)
    assert (irn != ours).any()


def write_items(root, names_labels, with_masks=True):
    """Images in ``root/img`` (lossless PNG), masks (to be written) in ``root/gt``."""
    items = []
    for d in ('img', 'gt'):
        os.makedirs(osp.join(root, d), exist_ok=True)
    for i, (name, label) in enumerate(names_labels):
        img_path = osp.join(root, 'img', f'{name}.png')
        cv2.imwrite(img_path, image(i))
        items.append(dict(img_path=img_path, img_label=np.asarray(label, np.float32),
                          seg_map_path=osp.join(root, 'gt', f'{name}.png') if with_masks
                          else None))
    return items


def png(path):
    return np.asarray(Image.open(path))


def test_generator_with_adaptive_thresholds_labels_as_predict(tmp_path):
    model = tiny_model('adaptive')
    items = write_items(str(tmp_path), [('a', [1, 0, 1]), ('b', [0, 1, 0]), ('c', [1, 1, 1])],
                        with_masks=False)
    out = tmp_path / 'pl'
    gen = PseudoLabelGenerator(model, str(out), num_classes=NUM_FG + 1, scales=(1.0, ),
                               flip=False, threshold='adaptive', bg_threshold=0.3,
                               label_crf=spatial_bce_label_crf())
    gen.run(items)
    compared = 0
    for it in items:
        name = osp.splitext(osp.basename(it['img_path']))[0]
        ours = png(out / 'cam' / f'{name}.png')
        ref = predict(model, cv2.imread(it['img_path']), it['img_label'])
        ref = ref.pred_sem_seg.data[0].numpy()
        cams, classes = load_cams(str(out / 'cams' / f'{name}.npz'))
        thr = load_thresholds(str(out / 'cams' / f'{name}.npz'))
        # the CAMs are stored as float16: pixels within its rounding of a threshold may differ
        near = (np.abs(cams - thr[:, None, None]) < 2e-3).any(axis=0)
        np.testing.assert_array_equal(ours[~near], ref[~near])
        assert near.mean() < 0.05
        assert set(np.unique(ref)) == {0, *(np.flatnonzero(it['img_label']) + 1)}
        compared += (~near).sum()
        assert (out / 'crf_label' / f'{name}.png').is_file()
    assert compared > 0.9 * 3 * 40 * 52
    manifest = json.load(open(out / 'cams' / 'manifest.json'))
    assert manifest['threshold'] == 'adaptive' and manifest['label_crf']['bilateral'] == [40, 5, 10]


# Spatial-BCE's eval.py:12-66 computes the same mIoU as SEAM's do_python_eval: one reference
from .test_protocol import official_miou  # noqa: E402


def official_search(cam_files, gts, num_cls):
    """``eval.py:97-104``: thresholds i / 100 for i in range(20, 40, 2); ``miou > highest``."""
    best, best_t = 0, 0
    for i in range(20, 40, 2):
        t = i / 100.0
        preds = []
        for f in cam_files:
            cams, classes = load_cams(f)
            tensor = np.zeros((num_cls, ) + cams.shape[1:], np.float32)
            tensor[classes] = cams
            tensor[0] = t
            preds.append(np.argmax(tensor, axis=0))
        miou = official_miou(preds, gts, num_cls)
        if miou > best:
            best, best_t = miou, t
    return best_t, best


def test_background_search_equals_eval_py_and_labels_the_next_prior(tmp_path):
    assert SPATIAL_BCE_BG_SEARCH == tuple(i / 100.0 for i in range(20, 40, 2))
    model = tiny_model('fixed')
    names = [('a', [1, 0, 1]), ('b', [0, 1, 0]), ('c', [1, 1, 1]), ('d', [0, 1, 1])]
    items = write_items(str(tmp_path), names)
    # masks: the CAM labels at 0.28 with noise, so that the search has a clear optimum inside
    rng = np.random.default_rng(0)
    for it in items:
        cams, classes = multi_scale_cams(model, cv2.imread(it['img_path']), it['img_label'],
                                         scales=(1.0, ), flip=False)
        gt = labels_from_cams(cams, classes, 0.28)
        noise = rng.random(gt.shape) < 0.03
        gt[noise] = rng.choice(np.concatenate([[0], classes]), noise.sum())
        cv2.imwrite(it['seg_map_path'], gt)
    out = tmp_path / 'pl'
    gen = PseudoLabelGenerator(model, str(out), num_classes=NUM_FG + 1, scales=(1.0, ),
                               flip=False, bg_threshold=0.3, bg_search=SPATIAL_BCE_BG_SEARCH,
                               label_crf=spatial_bce_label_crf())
    metrics = gen.run(items)
    cam_files = [str(out / 'cams' / f'{n}.npz') for n, _ in names]
    gts = [png(it['seg_map_path']) for it in items]
    ref_t, ref_j = official_search(cam_files, gts, NUM_FG + 1)
    search = metrics['cam_bg_search']
    assert search['threshold'] == ref_t == 0.28
    assert search['J'] == pytest.approx(ref_j, abs=1e-6)
    assert metrics['cam']['threshold'] == ref_t
    for (name, _), it in zip(names, items):  # the cam labels (and their CRF) use it
        cams, classes = load_cams(str(out / 'cams' / f'{name}.npz'))
        np.testing.assert_array_equal(png(out / 'cam' / f'{name}.png'),
                                      labels_from_cams(cams, classes, ref_t))
        np.testing.assert_array_equal(
            png(out / 'crf_label' / f'{name}.png'),
            crf_label_refine(cv2.imread(it['img_path'])[..., ::-1], labels_from_cams(
                cams, classes, ref_t), classes, **spatial_bce_label_crf()))
    # a rerun with the same settings resumes; without masks the search is refused
    assert gen.run(items)['cam_bg_search']['threshold'] == ref_t
    with pytest.raises(ValueError, match='bg_search .* ground-truth mask'):
        PseudoLabelGenerator(model, str(tmp_path / 'other'), num_classes=NUM_FG + 1,
                             bg_search=SPATIAL_BCE_BG_SEARCH).run(items, score_items=[
                                 dict(it, seg_map_path=None) for it in items])
    with pytest.raises(ValueError, match='adaptive'):
        PseudoLabelGenerator(model, str(out), num_classes=NUM_FG + 1, threshold='adaptive',
                             bg_search=SPATIAL_BCE_BG_SEARCH)


def test_thresholds_are_refused_where_a_model_has_none(tmp_path):
    path = str(tmp_path / 'x.npz')
    save_cams(path, np.zeros((1, 2, 2), np.float32), np.array([1]))
    with pytest.raises(KeyError, match='x.npz holds no learned thresholds'):
        load_thresholds(path)
    with pytest.raises(ValueError, match='learned thresholds'):
        PseudoLabelGenerator(nn.Conv2d(1, 1, 1), str(tmp_path), num_classes=3,
                             threshold='adaptive')
    with pytest.raises(KeyError, match=r"label_crf: unknown keys \['sxy'\]"):
        PseudoLabelGenerator(nn.Conv2d(1, 1, 1), str(tmp_path), num_classes=3,
                             label_crf=dict(sxy=40))


def tool_module():
    spec = importlib.util.spec_from_file_location(
        'make_pseudo_labels', osp.join(ROOT, 'tools', 'make_pseudo_labels.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_args(**kw):
    base = dict(config='x.py', scales=None, no_flip=None, bg_threshold=None, bg_search=None,
                threshold=None, crf=None, label_crf=None, affinity_labels=None, ir_labels=None,
                ppmg=None, cam_norm=None, score_split=None)
    base.update(kw)
    return argparse.Namespace(**base)


def resolve(tool, cfg, **kw):
    args = tool_args(**kw)
    cli = {k for k in ('bg_search', 'bg_threshold') if getattr(args, k) is not None}
    tool.apply_config_defaults(args, cfg)
    return (tool.label_crf_options(args, cfg), *tool.background_options(args, cfg, cli))


def test_make_pseudo_labels_options_of_the_spatial_bce_configs():
    tool = tool_module()
    voc = Config.fromfile(osp.join(ROOT, 'configs/spatial_bce/spatial-bce_r38_voc.py'))
    sbce_crf = dict(gt_prob=0.7, iterations=10, gaussian=(3, 3), bilateral=(40, 5, 10))
    search = list(SPATIAL_BCE_BG_SEARCH)
    crf, mode, bg_search = resolve(tool, voc)  # the config's label CRF and search
    assert crf == sbce_crf and mode == 'fixed' and bg_search == pytest.approx(search)
    crf, _, _ = resolve(tool, voc, label_crf=True)  # --label-crf keeps the config's kernels
    assert crf == sbce_crf
    _, mode, bg_search = resolve(tool, voc, threshold='adaptive')  # the adaptive recipe
    assert mode == 'adaptive' and bg_search is None
    _, _, bg_search = resolve(tool, voc, bg_threshold=0.25)  # a fixed threshold wins
    assert bg_search is None
    _, _, bg_search = resolve(tool, voc, bg_search=[])  # --bg-search without values: off
    assert bg_search is None
    adaptive = Config.fromfile(osp.join(ROOT, 'configs/spatial_bce/spatial-bce_r38_voc.py'))
    adaptive.merge_from_dict({'model.test_cfg.threshold': 'adaptive'})
    assert resolve(tool, adaptive)[1:] == ('adaptive', None)  # the model's test_cfg
    hfpl = Config.fromfile(osp.join(ROOT, 'configs/hfpl/spatial_bce_voc.py'))
    crf, mode, bg_search = resolve(tool, hfpl)  # hfpl Sec. 5.1: fixed 0.40, no search
    assert crf == sbce_crf and mode == 'fixed' and bg_search is None
    other = Config(dict(model=dict(), pseudo_label_cfg=dict(label_crf=True)))
    assert resolve(tool, other)[0] == dict(gt_prob=0.7)  # IRN's kernels for other methods
    assert resolve(tool, Config(dict(model=dict())), label_crf=True)[0] == dict(gt_prob=0.7)
    assert resolve(tool, Config(dict(model=dict())))[0] is None
    with pytest.raises(TypeError, match='pseudo_label_cfg.label_crf'):
        resolve(tool, Config(dict(model=dict(), pseudo_label_cfg=dict(label_crf=40))))
