import argparse
import importlib.util
import os
import os.path as osp
import subprocess
import sys
import warnings

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


@pytest.mark.parametrize('backend', ['pillow', 'cv2'])
def test_adjust_hue_equals_mmcv_under_numpy_1_for_both_signs(backend):
    """Our hue step against mmcv 2.1's ``adjust_hue`` (the arithmetic of SEAM's torchvision
    ColorJitter), which works here (NumPy 1 wraps ``np.uint8(-8)`` to 248): equal images for
    negative, zero and positive factors, including the shifts that wrap past 255."""
    import mmcv

    from mmseg_hfpl.datasets.transforms import adjust_hue
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)
    for factor in (-0.1, -0.0321, 0.0, 0.004, 0.0321, 0.1, -0.5, 0.5):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)  # NumPy 1's out-of-bound uint8
            expected = mmcv.adjust_hue(img, factor, backend=backend)
        np.testing.assert_array_equal(adjust_hue(img, factor, backend=backend), expected,
                                      err_msg=f'hue factor {factor}, {backend}')
    with pytest.raises(ValueError, match='0.7 is not in'):
        adjust_hue(img, 0.7)


def test_color_jitter_is_mmpretrains_without_mmcvs_hue(monkeypatch):
    """``ColorJitter`` draws as mmpretrain's does and gives its images, and never calls mmcv's
    ``adjust_hue``, which NumPy 2 makes raise for a negative hue (the first GPU run: 'Python
    integer -8 out of bounds for uint8'): simulated here by making it raise."""
    import mmcv
    from mmpretrain.datasets.transforms import ColorJitter as PretrainColorJitter

    from mmseg_hfpl.datasets.transforms import ColorJitter
    cfg = dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    img = np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    expected = []
    np.random.seed(3)
    for _ in range(12):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            expected.append(PretrainColorJitter(**cfg).transform(dict(img=img.copy()))['img'])

    def numpy2_adjust_hue(img, hue_factor, backend=None):
        if hue_factor < 0:
            raise OverflowError('Python integer -8 out of bounds for uint8')
        raise AssertionError('mmcv.adjust_hue called')

    monkeypatch.setattr(mmcv, 'adjust_hue', numpy2_adjust_hue)
    np.random.seed(3)  # the same draws: one _rand_params per call
    drawer = PretrainColorJitter(**cfg)
    hues = [drawer._rand_params()[-1] for _ in range(12)]
    np.random.seed(3)
    ours = [ColorJitter(**cfg).transform(dict(img=img.copy()))['img'] for _ in range(12)]
    for a, b in zip(ours, expected):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, img) for a in ours)
    assert min(hues) < 0 < max(hues)  # negative draws: the case that stopped training


def test_mmpretrain_is_imported_when_a_color_jitter_is_built_not_with_the_plugin():
    """``import mmseg_hfpl`` leaves mmpretrain and torchvision (~0.7 s per process) out until a
    ``ColorJitter`` is built: every tool process that builds no training pipeline saves it."""
    code = ('import sys; import mmseg_hfpl; from mmseg.registry import TRANSFORMS; '
            "print(sorted(m for m in ('mmpretrain', 'torchvision') if m in sys.modules)); "
            "t = TRANSFORMS.build(dict(type='ColorJitter', brightness=0.3, hue=0.1)); "
            "print(type(t).__module__, type(t.jitter).__module__)")
    res = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.splitlines()[-2:] == [
        '[]', 'mmseg_hfpl.datasets.transforms mmpretrain.datasets.transforms.processing']
