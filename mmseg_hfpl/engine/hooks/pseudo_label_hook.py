import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import DATASETS, HOOKS

from ...pseudo_labels import PseudoLabelGenerator, dataset_items


@HOOKS.register_module()
class PseudoLabelHook(Hook):
    """Generates (and scores) pseudo-labels with the trained model at the end of training.

    The images of ``<split>_dataloader.dataset`` are split across the ranks (each image written
    once), the model is unwrapped from DDP, and rank 0 scores the outputs (J, F, J&F) when masks
    exist. Outputs go to ``<work_dir>/<out_dir>`` in the layout of
    :class:`~mmseg_hfpl.pseudo_labels.PseudoLabelGenerator`.

    Args:
        out_dir (str): directory under the work dir. Default: ``'pseudo_labels'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``: whose dataset to label.
        scales, flip: multi-scale + flip CAM inference.
        bg_threshold (float, optional): background score of the ``cam`` labels (default: the
            model's ``test_cfg.bg_threshold``).
        crf_alphas, label_crf, crf_cfg, workers, overwrite: see the generator.
        curve (bool): also sweep the background threshold over the saved CAMs.
    """
    priority = 'LOW'

    def __init__(self,
                 out_dir: str = 'pseudo_labels',
                 split: str = 'train',
                 scales: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                 flip: bool = True,
                 bg_threshold: Optional[float] = None,
                 crf_alphas: Sequence[float] = (),
                 label_crf: Optional[dict] = None,
                 crf_cfg: Optional[dict] = None,
                 workers: int = 0,
                 curve: bool = False,
                 overwrite: bool = False) -> None:
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        self.out_dir = out_dir
        self.split = split
        self.kwargs = dict(scales=scales, flip=flip, crf_alphas=crf_alphas, label_crf=label_crf,
                           crf_cfg=crf_cfg, workers=workers, overwrite=overwrite)
        self.bg_threshold = bg_threshold
        self.curve = curve

    def after_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        dataset = DATASETS.build(runner.cfg[f'{self.split}_dataloader']['dataset'])
        bg = self.bg_threshold if self.bg_threshold is not None else model.bg_threshold
        generator = PseudoLabelGenerator(
            model, osp.join(runner.work_dir, self.out_dir),
            num_classes=len(dataset.metainfo['classes']), palette=dataset.metainfo.get('palette'),
            bg_threshold=bg, **self.kwargs)
        metrics = generator.run(dataset_items(dataset), curve=self.curve)
        for variant, res in metrics.items():
            runner.logger.info(f'pseudo-labels {variant}: J {res["J"]:.2f}  F {res["F"]:.2f}  '
                               f'J&F {res["J&F"]:.2f}')
        model.train()
