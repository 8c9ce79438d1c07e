"""The one output guard of every tool that writes (the pseudo-label tools, the pipeline, the
dataset converters): never into a dataset, never over files this project did not write.

:func:`check_output_dir` refuses an output directory that is, contains or lies inside any
directory of any dataset of a config (its ``data_root``, every ``data_prefix`` directory, the
directories of its ``ann_file`` / ``*_file`` of every split, through ``ConcatDataset`` and other
wrappers), after resolving symlinks and ``..``; no option overrides this. It also refuses an
existing, non-empty directory without this project's fingerprint: ``--overwrite`` only ever
replaces outputs this project wrote.
"""
import copy
import os
import os.path as osp
from typing import Iterable, List, NamedTuple, Optional

from .fingerprint import FINGERPRINT_FILE


class UnsafeOutputError(ValueError):
    """An output directory would put a dataset or files of others at risk."""


class GuardedDir(NamedTuple):
    path: str  # real path
    origin: str  # where it comes from, for the message
    contains: bool = True  # also refuse an output that contains it


def _is_dataset(node: dict) -> bool:
    return any(k in node for k in ('data_root', 'data_prefix', 'ann_file'))


def _walk(node, where: str):
    """(where, dataset dict) of every dataset dict under ``node`` (dicts and lists)."""
    if isinstance(node, dict):
        if _is_dataset(node):
            yield where, node
        for key, value in node.items():
            yield from _walk(value, f'{where}.{key}' if where else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{where}.{i}')


def _join(root: Optional[str], path: str) -> str:
    """A dataset path as mmengine's ``BaseDataset`` reads it (relative: onto ``data_root``)."""
    path = osp.expanduser(str(path))
    return path if osp.isabs(path) or not root else osp.join(root, path)


def dataset_dirs(cfg) -> List[GuardedDir]:
    """Every directory of every dataset of ``cfg`` (a Config or dict), as real paths.

    ``pseudo_label_dir`` (the training labels of a later stage, written by this project) is
    guarded too, but an output may contain it (the pseudo-label root holds every label kind).
    """
    from .config import resolve_pseudo_label_dir
    cfg = copy.deepcopy(cfg)
    label_dir = cfg.get('pseudo_label_dir')
    label_dir = osp.abspath(osp.expanduser(str(label_dir))) if label_dir else None
    if label_dir:
        try:  # the training datasets read it (not <data_root>/<pseudo_label_dir>)
            resolve_pseudo_label_dir(cfg, check_cams=False)
        except (AttributeError, KeyError, TypeError):  # no train_dataloader to point at it
            pass
    label_real = osp.realpath(label_dir) if label_dir else None
    dirs = []
    if label_real:
        dirs.append(GuardedDir(label_real, 'pseudo_label_dir (training labels)', False))
    plain = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    for where, ds in _walk(plain, ''):
        root = ds.get('data_root')
        if root:
            dirs.append(GuardedDir(osp.realpath(osp.expanduser(str(root))),
                                   f'{where}.data_root'))
        for key, prefix in dict(ds.get('data_prefix') or {}).items():
            if isinstance(prefix, str):
                real = osp.realpath(_join(root, prefix))
                if real != label_real:
                    dirs.append(GuardedDir(real, f'{where}.data_prefix.{key}'))
        for key, value in ds.items():
            if isinstance(value, str) and value and (key == 'ann_file' or key.endswith('_file')):
                dirs.append(GuardedDir(osp.dirname(osp.realpath(_join(root, value))),
                                       f'{where}.{key} ({value})'))
    return dirs


def _relation(out: str, guarded: GuardedDir) -> Optional[str]:
    if out == guarded.path:
        return 'is'
    if out.startswith(guarded.path.rstrip(os.sep) + os.sep):
        return 'lies inside'
    if guarded.contains and guarded.path.startswith(out.rstrip(os.sep) + os.sep):
        return 'contains'
    return None


def check_outside(out: str, guarded: Iterable[GuardedDir], what: str = '--out') -> str:
    """Refuse ``out`` when it is, lies inside or contains a guarded directory; returns its real
    path."""
    real = osp.realpath(osp.expanduser(str(out)))
    order = ('is', 'lies inside', 'contains')
    hits = sorted(((order.index(r), -len(g.path), r, g) for g in guarded
                   for r in [_relation(real, g)] if r), key=lambda h: h[:2])
    if hits:  # the closest: the masks directory itself rather than the data root around it
        _, _, relation, g = hits[0]
        via = '' if real == osp.abspath(out) else f' (resolved: {real!r})'
        raise UnsafeOutputError(
            f'refusing to write to {what} {out!r}{via}: it {relation} {g.path!r}, '
            f'{g.origin}. The tools never write into a dataset (images, ground-truth masks, '
            'data root) nor into their own inputs, whatever --overwrite says: choose an '
            f'{what} outside these directories (e.g. under work_dirs/).')
    return real


def is_own_output(directory: str, marker_dirs: Iterable[str] = (),
                  own_files: Iterable[str] = ()) -> bool:
    """Whether ``directory`` is missing, empty (but for ``own_files``, e.g. the log a tool
    opens first), or carries this project's fingerprint (itself, or one of its
    ``marker_dirs``, e.g. ``cams`` of a pseudo-label root)."""
    if not osp.exists(directory):
        return True
    if not osp.isdir(directory):
        return False
    if not set(os.listdir(directory)) - set(own_files) or osp.isfile(
            osp.join(directory, FINGERPRINT_FILE)):
        return True
    return any(osp.isfile(osp.join(directory, d, FINGERPRINT_FILE)) for d in marker_dirs)


def check_output_dir(out: str,
                     cfg=None,
                     overwrite: bool = False,
                     inputs: Iterable[str] = (),
                     marker_dirs: Iterable[str] = (),
                     own_files: Iterable[str] = ()) -> str:
    """The output guard of every tool that writes; call it before anything is written.

    Refuses (:class:`UnsafeOutputError`), whatever ``overwrite`` says:

    - an ``out`` that is, lies inside or contains a directory of a dataset of ``cfg`` (see
      :func:`dataset_dirs`) or one of ``inputs`` (what the tool reads, e.g. ``--cams``);
      symlinks and ``..`` are resolved first;
    - an existing ``out`` that is not a directory, or a non-empty one without this project's
      fingerprint (``.fingerprint.json`` in it or in one of ``marker_dirs``): its files were not
      written here, so no flag may replace them.

    Args:
        out: the output directory.
        cfg: the tool's config (``Config`` or dict) after its ``--cfg-options``; None: no
            dataset to guard (a converter guards its sources through ``inputs``).
        overwrite: the tool's ``--overwrite`` (named in the message only: it never unlocks
            these refusals).
        inputs: directories the tool reads.
        marker_dirs: sub-directories whose fingerprint marks ``out`` as this project's.
        own_files: files the tool writes before any fingerprint (its log): alone, they do not
            make ``out`` someone else's.

    Returns:
        The real path of ``out``.
    """
    guarded = dataset_dirs(cfg) if cfg is not None else []
    guarded += [GuardedDir(osp.realpath(osp.expanduser(str(p))), 'an input of this tool')
                for p in inputs if p]
    real = check_outside(out, guarded)
    if osp.exists(real) and not osp.isdir(real):
        raise UnsafeOutputError(f'--out {out!r} is a file, not a directory: choose another --out')
    if not is_own_output(real, marker_dirs, own_files):
        shown = sorted(os.listdir(real))
        listing = ', '.join(shown[:5]) + (', ...' if len(shown) > 5 else '')
        raise UnsafeOutputError(
            f'--out {out!r} already holds files that this project did not write ({listing}; no '
            f'{FINGERPRINT_FILE}): they are never replaced'
            + (', --overwrite included' if overwrite else '')
            + '. Choose another --out (a new or empty directory).')
    return real
