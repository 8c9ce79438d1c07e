"""The official SEAM / hfpl pseudo-label protocol: CAM normalisation and resizing of
``infer_cam_voc.py``, the scoring of ``eval_cam_voc.py`` / ``contour_fscore.py``, and the split
that is scored."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mmseg_hfpl.pseudo_labels import save_cams
from mmseg_hfpl.pseudo_labels.cam_inference import normalise_cams
from mmseg_hfpl.pseudo_labels.scoring import otsu_threshold, score_cam_protocol

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def official_norm_cam(sum_cam):
    """``infer_cam_voc.py`` lines 75-79, verbatim arithmetic in numpy."""
    sum_cam = sum_cam.copy()
    sum_cam[sum_cam < 0] = 0
    cam_max = np.max(sum_cam, (1, 2), keepdims=True)
    cam_min = np.min(sum_cam, (1, 2), keepdims=True)
    sum_cam[sum_cam < cam_min + 1e-5] = 0
    return (sum_cam - cam_min - 1e-5) / (cam_max - cam_min + 1e-5)


@pytest.mark.parametrize('offset', [0.0, 4.0])  # with negatives (min 0 after ReLU) / all > 0
def test_min_max_normalisation_equals_the_official_inference(offset):
    rng = np.random.default_rng(0)
    total = (rng.normal(size=(3, 9, 11)) + offset).astype(np.float64)
    ours = normalise_cams(torch.from_numpy(total), 'min_max').numpy()
    assert np.allclose(ours, official_norm_cam(total), atol=1e-12)
    assert ours.max() <= 1.0 and ours.min() < 0  # the official quirk: zeroed pixels end < 0
    # max normalisation (eq. 4) is what SIPE / IRN do, and differs once the minimum is > 0
    plain = normalise_cams(torch.from_numpy(total), 'max').numpy()
    expected = np.clip(total, 0, None) / (np.clip(total, 0, None).max((1, 2), keepdims=True)
                                          + 1e-5)
    assert np.allclose(plain, expected, atol=1e-12)
    assert np.abs(plain - ours).max() > (0.1 if offset else 1e-6)


def tiny_seam_model():
    """A SEAM network with random weights (narrow ResNet-38), the VOC config's preprocessing."""
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='SEAMSegmentor',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, size=(448, 448)),
        backbone=dict(type='ResNet38d', base_channels=8, frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
        decode_head=dict(type='SEAMHead', in_channels=(64, 128, 512), channels=512,
                         in_index=(0, 1, 2), num_classes=4, dropout_ratio=0.5,
                         align_corners=True),
        test_cfg=dict(bg_threshold=0.26, label_source='gt')))
    model.init_weights()
    return model.eval()


def official_infer_cam(model, bgr, label, scales=(0.5, 1.0, 1.5, 2.0)):
    """hfpl infer_cam_voc.py:38-79 with voc12/data.py:VOC12ClsDatasetMSF (:102-123) and the
    network's forward (network/resnet38_SEAM.py:49-52), written from their lines; the network
    body (features -> PCM-refined CAM on the feature grid) is the model's."""
    img = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))  # PIL RGB (VOC12ClsDataset)
    rounded_size = (int(round(img.size[0] / 1) * 1), int(round(img.size[1] / 1) * 1))  # :105
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # resnet38d.Normalize
    img_list = []
    for s in scales:
        target_size = (round(rounded_size[0] * s), round(rounded_size[1] * s))  # :109-110
        # :111 resample=PIL.Image.CUBIC, the alias of BICUBIC (3) that Pillow 10 removed
        s_img = np.asarray(img.resize(target_size, resample=Image.BICUBIC))
        norm = np.empty_like(s_img, np.float32)
        for c in range(3):
            norm[..., c] = (s_img[..., c] / 255. - mean[c]) / std[c]
        chw = np.transpose(norm, (2, 0, 1))  # imutils.HWC_to_CHW
        img_list += [chw, np.flip(chw, -1).copy()]  # :118-121
    orig_img_size = bgr.shape[:2]
    cam_list = []
    for i, x in enumerate(img_list):  # _work, :59-67
        x = torch.from_numpy(x)[None]
        with torch.no_grad():
            cam_rv = F.interpolate(model._head_outputs(x)['cam_rv'], x.shape[2:],
                                   mode='bilinear', align_corners=True)  # resnet38_SEAM.py:49
            cam = F.interpolate(cam_rv[:, 1:, :, :], orig_img_size, mode='bilinear',
                                align_corners=False)[0]
        cam = cam.numpy() * label.reshape(-1, 1, 1)
        if i % 2 == 1:
            cam = np.flip(cam, axis=-1)
        cam_list.append(cam)
    sum_cam = np.sum(cam_list, axis=0)  # :74-79
    sum_cam[sum_cam < 0] = 0
    cam_max = np.max(sum_cam, (1, 2), keepdims=True)
    cam_min = np.min(sum_cam, (1, 2), keepdims=True)
    sum_cam[sum_cam < cam_min + 1e-5] = 0
    norm_cam = (sum_cam - cam_min - 1e-5) / (cam_max - cam_min + 1e-5)
    return norm_cam[label > 1e-5]  # cam_dict: the labelled classes (:81-84)


def test_multi_scale_cams_equal_the_official_per_scale_chain():
    """multi_scale_cams end to end (PIL bicubic scales with the official size rounding, flip,
    forward, up-sampling, sum, ReLU, min-max) against infer_cam_voc.py on a random SEAM net."""
    from mmseg_hfpl.pseudo_labels.cam_inference import multi_scale_cams
    model = tiny_seam_model()
    rng = np.random.default_rng(1)
    bgr = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sides: x1.5 rounds half-even
    bgr[10:30, 20:45] //= 3
    label = np.array([1., 0., 1.], np.float32)
    cams, classes = multi_scale_cams(model, bgr, label, normalisation='min_max')
    official = official_infer_cam(model, bgr, label)
    assert classes.tolist() == [1, 3] and cams.shape == official.shape == (2, 37, 53)
    assert np.abs(official).max() > 0.5 and official.std() > 0.05  # not a degenerate map
    np.testing.assert_allclose(cams, official, atol=2e-5, rtol=0)
    # a half-pixel change of the scale sizes (round vs floor) would be seen
    floor = official_infer_cam(model, bgr, label, scales=(0.5, 1.0, 1.49, 2.0))
    assert np.abs(floor - cams).max() > 1e-3


def test_otsu_threshold_of_a_bimodal_histogram():
    hist = np.zeros(100)
    hist[10:20] = 5  # values 0.10-0.20
    hist[70:80] = 3  # values 0.70-0.80
    t = otsu_threshold(hist)
    assert 0.20 <= t <= 0.70
    # moving the upper mode up moves the threshold up (between-class variance is maximal there)
    shifted = np.zeros(100)
    shifted[10:20] = 5
    shifted[85:95] = 3
    assert otsu_threshold(shifted) >= t
    with pytest.raises(ValueError):
        otsu_threshold(np.zeros(10))


def official_miou(preds, gts, num_cls):
    """``eval_cam_voc.py: do_python_eval``: TP / (T + P - TP + 1e-10), mean over classes."""
    tp, p, t = np.zeros(num_cls), np.zeros(num_cls), np.zeros(num_cls)
    for pred, gt in zip(preds, gts):
        cal = gt < 255
        mask = (pred == gt) * cal
        for i in range(num_cls):
            p[i] += np.sum((pred == i) * cal)
            t[i] += np.sum((gt == i) * cal)
            tp[i] += np.sum((gt == i) * mask)
    return float(np.mean(tp / (t + p - tp + 1e-10))) * 100


def official_cam_prediction(cam_dict, shape, threshold, num_cls=4):
    """``eval_cam_voc.py`` ``--type npy``: background ``t`` and the CAMs, argmax."""
    tensor = np.zeros((num_cls, ) + shape, np.float32)
    for key, cam in cam_dict.items():
        tensor[key + 1] = cam
    tensor[0] = threshold
    return np.argmax(tensor, axis=0)


def test_sweep_best_j_equals_the_official_curve(tmp_path):
    rng = np.random.default_rng(2)
    cam_paths, gt_paths, cam_dicts, gts = [], [], [], []
    for i in range(4):
        gt = np.zeros((20, 24), np.uint8)
        cls = 1 + i % 3
        gt[4:15, 5:18] = cls
        gt[0, :3] = 255
        cams = np.clip(rng.normal(0.3, 0.2, (1, 20, 24)) + 0.5 * (gt == cls), 0, 1)
        cams = (cams / cams.max()).astype(np.float16).astype(np.float32)
        save_cams(str(tmp_path / f'{i}.npz'), cams, np.array([cls]))
        Image.fromarray(gt).save(tmp_path / f'{i}.png')
        cam_paths.append(str(tmp_path / f'{i}.npz'))
        gt_paths.append(str(tmp_path / f'{i}.png'))
        cam_dicts.append({cls - 1: cams[0]})
        gts.append(gt)
    res = score_cam_protocol(cam_paths, gt_paths, 4)
    curve = [official_miou([official_cam_prediction(c, (20, 24), t / 100) for c in cam_dicts],
                           gts, 4) for t in range(60)]
    best = int(np.argmax(curve))
    assert res['cam_sweep_best']['J'] == pytest.approx(curve[best], abs=1e-6)
    assert res['cam_sweep_best']['threshold'] == pytest.approx(best / 100)
    at_025 = official_miou([official_cam_prediction(c, (20, 24), 0.25) for c in cam_dicts],
                           gts, 4)
    assert res['cam_F_bg0.25']['J'] == pytest.approx(at_025, abs=1e-6)
    assert res['cam_F_bg0.25']['threshold'] == 0.25 and 0 <= res['cam_F_bg0.25']['F'] <= 100
    assert 0 < res['cam_otsu']['threshold'] < 1
    assert all('how' in v for v in res.values())


def test_make_pseudo_labels_scores_exactly_the_scoring_split(tiny_checkpoint, synthetic_root,
                                                             tmp_path):
    """Label the training images, score the listed `val` images (here: 5 of them) against their
    masks; metrics.json names each number by how it was obtained."""
    split = osp.join(synthetic_root, 'ImageSets', 'Segmentation', 'score5.txt')
    train = open(osp.join(synthetic_root, 'ImageSets', 'Segmentation', 'train.txt')).read().split()
    with open(split, 'w') as f:
        f.write('\n'.join(train[3:8]) + '\n')
    out = tmp_path / 'pl'
    opts = [f'{k}.dataset.data_root={synthetic_root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    opts.append('val_dataloader.dataset.ann_file=ImageSets/Segmentation/score5.txt')
    res = subprocess.run([sys.executable, 'tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py',
                          tiny_checkpoint, '--out', str(out), '--scales', '1.0', '--score-split',
                          'val', '--cam-norm', 'min_max', '--cfg-options', *opts], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.load(open(out / 'metrics.json'))
    assert metrics['scored_on']['images'] == 5
    assert 'val_dataloader (ImageSets/Segmentation/score5.txt' in metrics['scored_on']['set']
    assert 'scored on   val_dataloader' in res.stdout and ': 5 images' in res.stdout
    assert len(list((out / 'cam').glob('*.png'))) == len(train)  # every training image labelled
    assert json.load(open(out / 'cams' / 'manifest.json'))['normalisation'] == 'min_max'
    # the five scored labels alone give the reported J (score_label_files on those files)
    from mmseg_hfpl.pseudo_labels import score_label_files
    direct = score_label_files([str(out / 'cam' / f'{n}.png') for n in train[3:8]],
                               [osp.join(synthetic_root, 'SegmentationClass', f'{n}.png')
                                for n in train[3:8]], 6)
    assert metrics['cam']['J'] == pytest.approx(direct['J'])
    assert set(metrics) >= {'scored_on', 'cam', 'cam_sweep_best', 'cam_F_bg0.25', 'cam_otsu'}
    assert 0.0 <= metrics['cam_sweep_best']['threshold'] <= 0.59
    # the fixed threshold (0.3) is on the sweep's grid: the sweep's best cannot be lower
    assert metrics['cam']['threshold'] == 0.3
    assert metrics['cam_sweep_best']['J'] >= metrics['cam']['J'] - 1e-6


@pytest.mark.parametrize('config,norm', [
    ('seam/seam_r38_voc.py', 'min_max'), ('hfpl/seam_voc.py', 'min_max'),
    ('seam/seam_r38_coco.py', 'min_max'), ('pmm/pmm-a_r38_voc.py', 'min_max'),
    ('hfpl/pmm_voc.py', 'min_max'), ('sipe/sipe_r50_voc.py', 'max'),
])
def test_each_baseline_normalises_its_cams_as_its_official_inference(config, norm):
    """SEAM / hfpl (infer_cam_voc.py) and PMM (infer_multi_scale.py) min-max normalise the
    summed CAMs; SIPE (make_cam.py) divides by the maximum. VOC configs score VOC train."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    plcfg = cfg.get('pseudo_label_cfg', {})
    assert plcfg.get('cam_norm', 'max') == norm
    if 'voc' in config:
        assert plcfg['score_split'] == 'val'
        assert cfg.val_dataloader.dataset.ann_file == 'ImageSets/Segmentation/train.txt'
        assert cfg.val_dataloader.dataset.data_prefix.seg_map_path == 'SegmentationClass'


def official_crf_with_alpha(orig_img, cam_dict, alpha):
    """hfpl infer_cam_voc.py:95-107 (``_crf_with_alpha``) with tool/imutils.py:220-237
    (``crf_inference``, t=10, scale_factor=1), written from their lines on pydensecrf."""
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    v = np.array(list(cam_dict.values()))
    bg_score = np.power(1 - np.max(v, axis=0, keepdims=True), alpha)
    bgcam_score = np.concatenate((bg_score, v), axis=0)
    labels = bgcam_score.shape[0]
    h, w = orig_img.shape[:2]
    d = dcrf.DenseCRF2D(w, h, labels)
    unary = unary_from_softmax(bgcam_score)
    unary = np.ascontiguousarray(unary)
    d.setUnaryEnergy(unary)
    d.addPairwiseGaussian(sxy=3 / 1, compat=3)
    d.addPairwiseBilateral(sxy=80 / 1, srgb=13, rgbim=np.copy(orig_img), compat=10)
    q = d.inference(10)
    return np.array(q).reshape((labels, h, w))


@pytest.mark.parametrize('alpha', [1, 4, 24])
def test_cam_crf_equals_the_official_crf_with_alpha(alpha):
    """crf_cam_probabilities = _crf_with_alpha on min-max CAMs (their floor slightly below 0
    included); the unary of the raw scores, which normalising them first would change."""
    from mmseg_hfpl.pseudo_labels.crf import crf_cam_probabilities, crf_probabilities
    rng = np.random.default_rng(2)
    h, w = 30, 41
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    image[5:25, 10:30] //= 4
    total = np.stack([np.pad(rng.random((20, 20)) * 3, ((5, 5), (10, 11))),
                      np.pad(rng.random((14, 30)) * 2, ((16, 0), (0, 11)))])
    cams = official_norm_cam(total).astype(np.float32)  # the CAMs as infer_cam_voc.py has them
    assert cams.min() < 0
    classes = np.array([3, 12])
    ours, keys = crf_cam_probabilities(image, cams, classes, alpha)
    official = official_crf_with_alpha(image, {2: cams[0], 11: cams[1]}, alpha)
    assert keys.tolist() == [0, 3, 12]
    np.testing.assert_array_equal(ours, official.astype(np.float32))
    # scores normalised to sum 1 before the unary give other marginals (the earlier reading)
    bg = np.power(1 - cams.max(0, keepdims=True), alpha)
    normalised = crf_probabilities(image, np.concatenate([bg, cams]), normalise=True)
    assert np.abs(normalised - official).max() > 1e-7
