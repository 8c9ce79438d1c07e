import argparse
import importlib.util
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmseg_hfpl.datasets import RandomResizeLong

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_random_resize_long_draws_the_long_side_and_keeps_the_aspect():
    np.random.seed(0)
    t = RandomResizeLong(40, 60)
    sides = set()
    for _ in range(30):
        img = np.zeros((30, 20, 3), np.uint8)
        seg = np.zeros((30, 20), np.uint8)
        seg[:15] = 7
        out = t(dict(img=img, gt_seg_map=seg))
        h, w = out['img'].shape[:2]
        assert 40 <= h <= 60 and w == round(20 * h / 30)
        assert out['gt_seg_map'].shape == (h, w)
        assert set(np.unique(out['gt_seg_map'])) == {0, 7}  # nearest: no new label values
        sides.add(h)
    assert len(sides) > 10  # really random
    with pytest.raises(ValueError, match='min_size <= max_size'):
        RandomResizeLong(60, 40)


def _make_pseudo_labels_module():
    spec = importlib.util.spec_from_file_location(
        'make_pseudo_labels', osp.join(ROOT, 'tools', 'make_pseudo_labels.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pseudo_label_cfg_fills_only_what_the_command_line_left_open():
    tool = _make_pseudo_labels_module()

    def args(**kw):
        base = dict(config='x.py', scales=None, no_flip=None, bg_threshold=None, crf=None,
                    label_crf=None, affinity_labels=None, ir_labels=None, ppmg=None,
                    cam_norm=None, score_split=None)
        base.update(kw)
        return argparse.Namespace(**base)

    cfg = Config(dict(pseudo_label_cfg=dict(crf_alphas=(1, 24), affinity_labels=True,
                                            flip=False)))
    a = args()
    tool.apply_config_defaults(a, cfg)
    assert a.crf == [1, 24] and a.affinity_labels is True and a.no_flip is True
    assert a.scales == [0.5, 1.0, 1.5, 2.0] and a.label_crf is False  # tool defaults
    assert a.ppmg is False and a.cam_norm == 'max' and a.score_split is None
    # SEAM's min-max normalisation and the VOC scoring split come from the config
    d = args()
    tool.apply_config_defaults(d, Config(dict(pseudo_label_cfg=dict(cam_norm='min_max',
                                                                    score_split='val'))))
    assert d.cam_norm == 'min_max' and d.score_split == 'val'
    c = args()  # PMM's options reach the generator as a dict
    tool.apply_config_defaults(c, Config(dict(pseudo_label_cfg=dict(ppmg=dict(alpha=11)))))
    assert dict(c.ppmg) == dict(alpha=11)
    b = args(crf=[4.0], no_flip=False)  # the command line wins
    tool.apply_config_defaults(b, cfg)
    assert b.crf == [4.0] and b.no_flip is False
    with pytest.raises(KeyError, match="unknown pseudo_label_cfg keys \\['alphas'\\]"):
        tool.apply_config_defaults(args(), Config(dict(pseudo_label_cfg=dict(alphas=(1, )))))
