import os.path as osp
from typing import Callable, Dict, Iterator, Optional, Tuple, Union

from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmseg.registry import RUNNERS

from ..fileio import atomic_path
from ..losses.functional import NonFiniteScoreError
from .checkpoint_check import load_state_checked, read_checkpoint, unwrap_model
from .env_info import torchvision_version_only
from .hooks.non_finite_loss_hook import non_finite_loss_error

GUARD_KEY = 'non_finite'


def _is_local(filename: str) -> bool:
    return '://' not in str(filename)


def _heads_num_classes(model) -> Iterator[Tuple[str, int]]:
    """``(config key, num_classes)`` of a segmentor's decode / auxiliary head(s)."""
    for name in ('decode_head', 'auxiliary_head'):
        heads = getattr(model, name, None)
        if heads is None:
            continue
        many = isinstance(heads, (list, tuple)) or type(heads).__name__ == 'ModuleList'
        for i, head in enumerate(heads if many else [heads]):
            if isinstance(getattr(head, 'num_classes', None), int):
                yield (f'model.{name}.{i}.num_classes' if many else f'model.{name}.num_classes',
                       head.num_classes)


def _leaf_datasets(dataset) -> Iterator[object]:
    for child in getattr(dataset, 'datasets', None) or []:  # ConcatDataset
        yield from _leaf_datasets(child)
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'datasets'):  # RepeatDataset...
        yield from _leaf_datasets(dataset.dataset)
    yield dataset


def check_evaluated_datasets(loops: Dict[str, object]) -> None:
    """Refuse ``truncated_images='skip'`` on the dataset of a ``val`` / ``test`` loop: a skipped
    image would be replaced by another one, which would be scored in its place."""
    for split in ('val', 'test'):
        dataset = getattr(getattr(loops.get(split), 'dataloader', None), 'dataset', None)
        for leaf in _leaf_datasets(dataset) if dataset is not None else []:
            if getattr(leaf, 'truncated_images', None) == 'skip':
                raise ValueError(f"{split}_dataloader.dataset: truncated_images='skip' is for "
                                 'training sets only (another image would be scored in place '
                                 f"of a skipped one); use 'error' ({type(leaf).__name__}, "
                                 f'{getattr(leaf, "ann_file", "")})')


def check_num_classes(model, loops: Dict[str, object]) -> None:
    """Raise ``ValueError`` when a dataset of ``loops`` (``{'train': loop, ...}``) lists
    another number of classes (``metainfo['classes']``, background included) than a head of
    the segmentor ``model`` predicts (``num_classes``, naming its config key)."""
    heads = list(_heads_num_classes(unwrap_model(model)))
    for split, loop in loops.items():
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if classes is None:
            continue
        for key, num in heads:
            if num != len(classes):
                raise ValueError(
                    f'{key} is {num} but the {split} dataset ({type(dataset).__name__}) has '
                    f'{len(classes)} classes (metainfo classes, background included: '
                    f'{", ".join(map(str, classes[:6]))}{", ..." if len(classes) > 6 else ""}): '
                    f'set {key}={len(classes)} (or the dataset\'s metainfo classes)')


@RUNNERS.register_module()
class HFPLRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` with the project's checks.

    - Its default hooks always include the training guard
      :class:`~mmseg_hfpl.engine.hooks.NonFiniteLossHook` (key ``'non_finite'``), so every
      model trained from a config with ``runner_type = 'HFPLRunner'``
      (``configs/_base_/default_runtime.py``) stops at its first NaN / Inf loss, whatever
      ``default_hooks`` and ``custom_hooks`` the config sets. ``default_hooks.non_finite``
      replaces the guard's config; ``default_hooks.non_finite=None`` removes it. A loss that
      refuses NaN / Inf class scores (:class:`~mmseg_hfpl.losses.functional.
      NonFiniteScoreError`, before any loss value exists) stops with the same
      :class:`~mmseg_hfpl.engine.NonFiniteLossError` message (loss, iteration, learning rate).
    - Every checkpoint it loads (``load_from``, ``resume``, ``tools/test.py``'s checkpoint)
      goes through :func:`~mmseg_hfpl.engine.checkpoint_check.load_state_checked`: an
      empty or truncated file, a checkpoint of another model (missing / unexpected keys,
      other shapes) and NaN / Inf weights are refused with
      :class:`~mmseg_hfpl.engine.CheckpointError` naming the file, where mmengine loads a
      mismatching checkpoint with key warnings only. Set :attr:`allow_partial_checkpoint`
      (``--allow-partial`` of ``tools/train.py`` / ``tools/test.py``) to load the keys that
      fit instead.
    - The environment it logs at start is mmengine's, collected without importing torchvision
      for its version (:func:`~mmseg_hfpl.engine.env_info.torchvision_version_only`; 0.6 s
      of every process that does not use it).
    """
    allow_partial_checkpoint: bool = False

    def _log_env(self, env_cfg: dict) -> None:
        with torchvision_version_only():
            super()._log_env(env_cfg)

    def register_default_hooks(self,
                               hooks: Optional[Dict[str, Union[Hook, dict]]] = None) -> None:
        hooks = dict(hooks or {})
        guard = hooks.pop(GUARD_KEY, dict(type='NonFiniteLossHook'))
        super().register_default_hooks(hooks)
        if guard is not None:
            self.register_hook(guard)

    def train(self):
        try:
            return super().train()
        except NonFiniteScoreError as err:
            term = err.loss_name or 'loss'
            raise non_finite_loss_error(
                self, f'non-finite loss: {term}=nan ({err})'
            ) from err

    @master_only
    def save_checkpoint(self, out_dir: str, filename: str, *args, **kwargs) -> None:
        """mmengine's ``save_checkpoint``, atomic for a local ``out_dir``: the checkpoint is
        written to a temporary file beside it and renamed, so a failed save (a full disk)
        leaves neither a truncated checkpoint nor a temporary file."""
        if not _is_local(out_dir) or kwargs.get('backend_args') or kwargs.get('file_client_args'):
            return super().save_checkpoint(out_dir, filename, *args, **kwargs)
        with atomic_path(osp.join(out_dir, filename)) as tmp:
            super().save_checkpoint(out_dir, osp.relpath(tmp, out_dir), *args, **kwargs)

    def load_or_resume(self) -> None:
        """Check that datasets and model agree on the number of classes
        (:func:`check_num_classes`) and that no evaluated set skips images
        (:func:`check_evaluated_datasets`; ``train`` / ``val`` / ``test`` call this once their
        loops are built), then mmengine's ``load_or_resume``."""
        loops = {split: getattr(self, f'_{split}_loop', None) for split in ('train', 'val', 'test')}
        loops = {k: v for k, v in loops.items() if v is not None and not isinstance(v, dict)}
        check_num_classes(self.model, loops)
        check_evaluated_datasets(loops)
        super().load_or_resume()

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006 (mmengine's)
        """mmengine's ``load_checkpoint`` (also called by ``resume``) with the checks of
        :func:`load_state_checked` (``strict=True`` never loads a partial checkpoint)."""
        if _is_local(filename):  # read on the CPU; load_state_dict copies to the device
            checkpoint = read_checkpoint(filename)
        else:
            checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        load_state_checked(self.model, checkpoint, filename,
                           allow_partial=self.allow_partial_checkpoint and not strict)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
