import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from ...visualization import render_cam_panel, write_png


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Writes CAM overlays and pseudo-label colour maps for the first ``num_images`` samples of
    every validation / test run (main process only).

    For each image, one PNG in ``<work_dir>/<out_dir>/<mode>_<iter>/``: input | ground truth |
    CAM heat map (max over the labelled classes) | pseudo-label, colours from the dataset palette.

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

    def _start(self, runner: Runner, mode: str) -> None:
        self._count = 0
        self._dir = osp.join(runner.work_dir, self.out_dir, f'{mode}_iter{runner.iter}')
        loader = runner.val_dataloader if mode == 'val' else runner.test_dataloader
        self._palette = loader.dataset.metainfo.get('palette')

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
            panel = render_cam_panel(sample, self._palette)
            name = osp.splitext(osp.basename(sample.metainfo['img_path']))[0]
            write_png(osp.join(self._dir, f'{name}.png'), panel)
            self._count += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._write(runner, outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._write(runner, outputs)
