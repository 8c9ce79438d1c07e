"""Where a training config finds its pseudo-labels: ``pseudo_label_dir``, a path that means what it
means in a shell."""
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


def resolve_pseudo_label_dir(cfg) -> Optional[str]:
    """Point every training dataset of ``cfg`` at ``cfg.pseudo_label_dir``, made absolute.

    mmengine joins a relative ``data_prefix.seg_map_path`` onto the dataset's ``data_root``, so
    ``--cfg-options ...seg_map_path=work_dirs/pl/aff`` would read
    ``<data_root>/work_dirs/pl/aff``. The AffinityNet, IRN and stage-3 configs therefore name
    their training masks with the top-level ``pseudo_label_dir`` instead, relative to the working
    directory (``--cfg-options pseudo_label_dir=work_dirs/pl/aff``); the tools call this once
    after the command-line options are merged. Validation / test datasets keep their masks.

    Returns the absolute directory, or None when the config has no ``pseudo_label_dir``.
    """
    path = cfg.get('pseudo_label_dir')
    if not path:
        return None
    path = osp.abspath(osp.expanduser(str(path)))
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
