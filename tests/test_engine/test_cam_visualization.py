"""CAMVisualizationHook / render_cam_panel: captioned panels with a legend and a colour bar, a
visible score tile for logits and CRF log-probabilities, and tools/test.py --show-dir on a
stage-3 config (no training set built; the folder named after the checkpoint)."""
import os
import subprocess
import sys

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.visualization import render_cam_panel, score_map
from mmseg_hfpl.visualization.cam_panel import BAR, CAPTION, MIN_TILE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAGE3 = os.path.join(ROOT, 'configs', 'stage3', 'deeplabv3plus_r18tiny_synthetic-pseudo.py')
PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0]]
CLASSES = ('background', 'disc', 'box', 'ring')


def _sample(tmp_path, seg_logits):
    image = np.full((32, 48, 3), 90, np.uint8)
    cv2.imwrite(str(tmp_path / 'img.jpg'), image)
    pred = np.zeros((32, 48), np.int64)
    pred[8:24, 10:30] = 2
    gt = pred.copy()
    gt[0:4, 0:4] = 1
    sample = SegDataSample(metainfo=dict(img_path=str(tmp_path / 'img.jpg')))
    sample.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
    sample.seg_logits = PixelData(data=torch.from_numpy(seg_logits))
    return sample


def test_score_map_of_cams_logits_and_crf_log_probabilities():
    cams = np.zeros((3, 2, 2), np.float32)
    cams[1, 0, 0], cams[2, 1, 1] = 0.8, 0.3
    assert np.allclose(score_map(cams), [[0.8, 0], [0, 0.3]])  # CAMs in [0, 1]: as they are
    probs = np.array([[[0.7]], [[0.2]], [[0.1]]], np.float32)
    assert np.allclose(score_map(np.log(probs)), 0.2, atol=1e-6)  # CRF log-marginals: probs
    logits = np.array([[[2.0]], [[1.0]], [[0.0]]], np.float32)
    expect = np.exp(1.0) / (np.exp(2.0) + np.exp(1.0) + 1.0)
    assert np.allclose(score_map(logits), expect, atol=1e-6)


def test_panel_has_captions_legend_colour_bar_and_a_visible_score_tile(tmp_path):
    probs = np.full((4, 32, 48), 0.05, np.float32)
    probs[0] = 0.85
    probs[0, 8:24, 10:30], probs[2, 8:24, 10:30] = 0.05, 0.85
    panel = render_cam_panel(_sample(tmp_path, np.log(probs)), PALETTE, CLASSES)
    h = 32 * 4  # 32 px images are shown 4x (at least MIN_TILE px)
    assert h >= MIN_TILE
    w = 48 * 4
    assert panel.shape[1] == 4 * w + 3 * 4
    tiles_bottom = CAPTION + h + BAR
    assert panel.shape[0] > tiles_bottom  # the legend below
    for i in range(4):  # a caption (dark text) above every tile
        strip = panel[:CAPTION, i * (w + 4):i * (w + 4) + w]
        assert (strip < 100).any(), i
    score = panel[CAPTION:CAPTION + h, 2 * (w + 4):2 * (w + 4) + w].astype(int)
    inside, outside = score[40:90, 50:110], score[:20, :20]
    # the object is red on the heat map (score 0.85), the background blue (0.05)
    assert inside[..., 0].min() > 150 and outside[..., 0].max() < 60
    assert inside[..., 2].max() < 60 and outside[..., 2].min() > 120
    bar = panel[CAPTION + h:CAPTION + h + BAR - 6, 2 * (w + 4):2 * (w + 4) + w]
    assert (bar[:, 0, 2] > 100).all() and (bar[:, -1, 0] > 100).all()  # JET: blue 0, red 1
    legend = panel[tiles_bottom:]
    for c in (0, 1, 2):  # the classes of the ground truth and the prediction, not class 3
        assert (legend == PALETTE[c]).all(axis=2).sum() >= 100, c
    assert not (legend == PALETTE[3]).all(axis=2).any()


def test_test_py_show_dir_on_stage3(synthetic_root, tmp_path):
    cfg = Config.fromfile(STAGE3)
    checkpoint = tmp_path / 'iter_1500.pth'
    torch.save(dict(meta=dict(iter=1500), state_dict=MODELS.build(cfg.model).state_dict()),
               checkpoint)
    opts = [f'{k}.dataset.data_root={synthetic_root}'
            for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    # the training set's pseudo-labels do not exist: a test must not need them
    opts += [f'pseudo_label_dir={tmp_path / "no_labels"}', 'test_dataloader.num_workers=0',
             'test_dataloader.persistent_workers=False']
    res = subprocess.run([sys.executable, 'tools/test.py', STAGE3, str(checkpoint), '--work-dir',
                          str(tmp_path / 'work'), '--show-dir', 'vis', '--cfg-options', *opts],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    # the configs hold no mmseg SegVisualizationHook with draw=False (a no-op that warned)
    assert 'The draw is False' not in res.stdout + res.stderr
    vis = tmp_path / 'work' / 'vis'
    assert os.listdir(vis) == ['test_iter_1500']
    pngs = sorted(os.listdir(vis / 'test_iter_1500'))
    assert pngs == ['val_0000.png', 'val_0001.png', 'val_0002.png', 'val_0003.png']
