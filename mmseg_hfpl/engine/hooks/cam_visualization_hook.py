import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop, Runner
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...visualization import render_cam_panel, write_png


def run_name(runner: Runner, mode: str) -> str:
    """``<mode>_iter<N>`` inside a training run, else ``<mode>_<checkpoint name>`` (or
    ``<mode>``); ``runner.iter`` would build the training loop, and with it the training set."""
    train_loop = getattr(runner, '_train_loop', None)  # built only when training
    if isinstance(train_loop, BaseLoop):
        return f'{mode}_iter{train_loop.iter}'
    checkpoint = runner.cfg.get('load_from')
    return f'{mode}_{osp.splitext(osp.basename(checkpoint))[0]}' if checkpoint else mode


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Writes CAM overlays and pseudo-label colour maps for the first ``num_images`` samples of
    every validation / test run (main process only).

    For each image, one PNG (:func:`~mmseg_hfpl.visualization.render_cam_panel`: captioned
    input | ground truth | score heat map with its colour bar | prediction, and a legend of the
    classes shown, colours from the dataset palette) in ``<work_dir>/<out_dir>/<run>/``, where
    ``<run>`` is ``val_iter<N>`` during training and, for a test of a checkpoint
    (``tools/test.py --show-dir``), ``test_<checkpoint name>`` (e.g. ``test_iter_1500``).
    Only the evaluated dataset is read (never the training set, whose pseudo-labels a test
    does not need).

    Args:
        num_images (int): images per evaluation. Default: 8.
        out_dir (str): directory under the work dir. Default: ``'vis'``.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 8, out_dir: str = 'vis') -> None:
        self.num_images = num_images
        self.out_dir = out_dir
        self._count = 0
        self._dir: Optional[str] = None
        self._palette = None
        self._classes = None

    def _start(self, runner: Runner, mode: str) -> None:
        self._count = 0
        self._dir = osp.join(runner.work_dir, self.out_dir, run_name(runner, mode))
        loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
        self._palette = loader.dataset.metainfo.get('palette')
        self._classes = loader.dataset.metainfo.get('classes')

    def before_val_epoch(self, runner: Runner) -> None:
        self._start(runner, 'val')

    def before_test_epoch(self, runner: Runner) -> None:
        self._start(runner, 'test')

    def _write(self, runner: Runner, outputs: Sequence[SegDataSample]) -> None:
        if runner.rank != 0 or self._dir is None:
            return
        for sample in outputs:
            if self._count >= self.num_images:
                return
            os.makedirs(self._dir, exist_ok=True)
            panel = render_cam_panel(sample, self._palette, self._classes)
            name = osp.splitext(osp.basename(sample.metainfo['img_path']))[0]
            write_png(osp.join(self._dir, f'{name}.png'), panel)
            self._count += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._write(runner, outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._write(runner, outputs)
