"""Where a training config finds its pseudo-labels (``pseudo_label_dir``, a path that means what it
means in a shell), and how ``pseudo_label_cfg`` sets the label CRF and the threshold mode for
``tools/make_pseudo_labels.py`` and ``PseudoLabelHook`` alike."""
import copy
import os.path as osp
from typing import Optional


def _datasets(dataset_cfg):
    """The leaf dataset dicts of a dataset config (through ConcatDataset / RepeatDataset / ...)."""
    if 'datasets' in dataset_cfg:
        for sub in dataset_cfg['datasets']:
            yield from _datasets(sub)
    elif 'dataset' in dataset_cfg:
        yield from _datasets(dataset_cfg['dataset'])
    else:
        yield dataset_cfg


def resolve_pseudo_label_dir(cfg, check_cams: bool = True) -> Optional[str]:
    """Point every training dataset of ``cfg`` at ``cfg.pseudo_label_dir``, made absolute.

    mmengine joins a relative ``data_prefix.seg_map_path`` onto the dataset's ``data_root``, so
    ``--cfg-options ...seg_map_path=work_dirs/pl/aff`` would read
    ``<data_root>/work_dirs/pl/aff``. The AffinityNet, IRN and stage-3 configs therefore name
    their training masks with the top-level ``pseudo_label_dir`` instead, relative to the working
    directory (``--cfg-options pseudo_label_dir=work_dirs/pl/aff``); the tools call this once
    after the command-line options are merged. Validation / test datasets keep their masks.

    With ``check_cams``, labels that carry a fingerprint naming other CAMs than the ``cams/``
    beside them (a stale pair) are refused:
    :func:`~mmseg_hfpl.pseudo_labels.fingerprint.check_label_cams`.

    Returns the absolute directory, or None when the config has no ``pseudo_label_dir``.
    """
    path = cfg.get('pseudo_label_dir')
    if not path:
        return None
    path = osp.abspath(osp.expanduser(str(path)))
    if check_cams:
        from .fingerprint import check_label_cams
        check_label_cams(path)
    for dataset in _datasets(cfg.train_dataloader.dataset):
        prefix = dict(dataset.get('data_prefix') or {})
        prefix['seg_map_path'] = path
        dataset['data_prefix'] = prefix
    cfg.pseudo_label_dir = path
    return path


def without_masks(dataset_cfg):
    """A copy of a dataset config whose leaf datasets list images only (no ``seg_map_path``):
    the images to refine of a training split whose masks are pseudo-labels."""
    dataset_cfg = copy.deepcopy(dataset_cfg)
    for dataset in _datasets(dataset_cfg):
        prefix = dict(dataset.get('data_prefix') or {})
        prefix.pop('seg_map_path', None)
        dataset['data_prefix'] = prefix
    return dataset_cfg


#: the label CRF without settings in the config (IRN's kernels)
LABEL_CRF_DEFAULT = dict(gt_prob=0.7)


def label_crf_settings(value, requested: bool, source: str) -> Optional[dict]:
    """The label CRF's options (None: off). ``value`` is ``pseudo_label_cfg.label_crf``: a bool
    or a dict of ``crf_label_refine`` options (Spatial-BCE's kernels) laid over
    :data:`LABEL_CRF_DEFAULT`; ``requested`` turns the CRF on; ``source`` names the config in
    the error for any other type."""
    if value is not None and not isinstance(value, (bool, dict)):
        raise TypeError(f'{source}: pseudo_label_cfg.label_crf must be a bool or a dict of '
                        f'crf_label_refine options, got {value!r}')
    if not requested:
        return None
    return dict(LABEL_CRF_DEFAULT, **(dict(value) if isinstance(value, dict) else {}))


def threshold_settings(cfg, threshold: Optional[str] = None, bg_search=None,
                       search_given: bool = False, bg_threshold_given: bool = False) -> tuple:
    """(threshold mode, bg_search candidates or None). The mode defaults to the model's
    ``test_cfg.threshold`` (Spatial-BCE), else ``'fixed'``. A search that was not asked for
    explicitly (``search_given``; e.g. the config's, Spatial-BCE's fixed-threshold recipe) gives
    way to ``'adaptive'`` and to an explicit background threshold; an explicit one with
    ``'adaptive'`` is refused by the generator."""
    mode = threshold or (cfg.model.get('test_cfg') or {}).get('threshold', 'fixed')
    if not search_given and (mode == 'adaptive' or bg_threshold_given):
        bg_search = None
    return mode, (list(bg_search) if bg_search else None)
