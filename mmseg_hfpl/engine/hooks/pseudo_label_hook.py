import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.dist import barrier
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmseg.registry import DATASETS, HOOKS

from ...pseudo_labels import PseudoLabelGenerator, check_output_dir, dataset_items
from ...pseudo_labels.config import label_crf_settings, threshold_settings
from ...pseudo_labels.scoring import score_summary


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
        score_split (str, optional): whose dataset to score (its images are labelled too).
        normalisation (str, optional): ``'max'`` or ``'min_max'`` normalisation of the CAMs.
            ``score_split`` and ``normalisation`` default to the config's ``pseudo_label_cfg``
            (``score_split``, ``cam_norm``), then to ``split`` and ``'max'``. The threshold mode
            and search and the label CRF's kernels come from ``pseudo_label_cfg`` as in
            ``tools/make_pseudo_labels.py`` (``threshold``, else the model's
            ``test_cfg.threshold``; ``bg_search``, dropped with ``'adaptive'``; a ``label_crf``
            dict, used when the hook's ``label_crf`` is not given).
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
                 score_split: Optional[str] = None,
                 normalisation: Optional[str] = None,
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
        self.score_split = score_split
        self.normalisation = normalisation
        self.kwargs = dict(scales=scales, flip=flip, crf_alphas=crf_alphas, label_crf=label_crf,
                           crf_cfg=crf_cfg, workers=workers, overwrite=overwrite)
        self.bg_threshold = bg_threshold
        self.curve = curve

    def after_train(self, runner: Runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        plcfg = runner.cfg.get('pseudo_label_cfg') or {}
        dataset = DATASETS.build(runner.cfg[f'{self.split}_dataloader']['dataset'])
        items = dataset_items(dataset)
        score_split = self.score_split or plcfg.get('score_split') or self.split
        score_items = items if score_split == self.split else dataset_items(
            DATASETS.build(runner.cfg[f'{score_split}_dataloader']['dataset']))
        bg = self.bg_threshold if self.bg_threshold is not None else model.bg_threshold
        threshold, bg_search = threshold_settings(
            runner.cfg, plcfg.get('threshold'), plcfg.get('bg_search'),
            bg_threshold_given=self.bg_threshold is not None)
        kwargs = dict(self.kwargs)
        if kwargs['label_crf'] is None:  # the config's kernels, when it gives a dict
            value = plcfg.get('label_crf')
            kwargs['label_crf'] = label_crf_settings(value, isinstance(value, dict), 'the config')
        out_dir = osp.join(runner.work_dir, self.out_dir)
        check_output_dir(out_dir, runner.cfg, self.kwargs['overwrite'], marker_dirs=('cams', ))
        barrier()  # every rank checked before any writes
        generator = PseudoLabelGenerator(
            model, out_dir,
            num_classes=len(dataset.metainfo['classes']), palette=dataset.metainfo.get('palette'),
            bg_threshold=bg, normalisation=self.normalisation or plcfg.get('cam_norm', 'max'),
            threshold=threshold, bg_search=bg_search, **kwargs)
        metrics = generator.run(items, curve=self.curve, score_items=score_items,
                                score_set=f'{score_split}_dataloader')
        for line in score_summary(metrics):
            runner.logger.info(f'pseudo-labels {line}')
        model.train()
