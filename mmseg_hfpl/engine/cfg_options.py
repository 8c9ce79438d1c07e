"""``--cfg-options`` merged into a config so that a mistyped key is refused, not ignored.

mmengine's ``Config.merge_from_dict`` creates any key it is given: ``randomnes.seed=3`` or
``pseudo_label_dirr=DIR`` adds a key nothing reads, and the run goes on with the defaults.
:func:`merge_cfg_options` (used by every tool that takes ``--cfg-options``) refuses

- a new top-level key, unless a tool or mmengine's Runner reads it (:data:`KNOWN_TOP_LEVEL`);
- a new nested key that is a close match of a key beside it (``model.test_cfg.bg_treshold``
  beside ``bg_threshold``), with the suggestion;
- a list index past the end of the list (``train_pipeline.9.scale``),

and logs a warning for any other new nested key (a constructor argument the config leaves at
its default, e.g. ``model.backbone.norm_eval=True``, is a legitimate new key).
"""
import difflib
import inspect
import logging
from typing import Dict, Iterable, List, Optional

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

#: top-level keys read by the tools of this project, mmseg's tools and mmengine's
#: ``Runner.from_cfg`` / ``Runner.train`` beyond the arguments of mmengine's Runner
EXTRA_TOP_LEVEL = (
    'runner_type', 'model_wrapper_cfg', 'find_unused_parameters', 'tta_model', 'tta_pipeline',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'compile', 'test_pipeline',
    'total_batch_size', 'test_crf', 'crf_model', 'pseudo_label_dir', 'pseudo_label_cfg')
KNOWN_TOP_LEVEL = tuple(sorted(
    set(EXTRA_TOP_LEVEL)
    | {name for name in inspect.signature(Runner.__init__).parameters if name != 'self'}))
CUTOFF = 0.8  # difflib ratio of a "close match" (randomnes / randomness: 0.95)


class ConfigOptionError(ValueError):
    """A ``--cfg-options`` key that would create a key nothing reads; names the key and the
    close matches."""


def _suggestion(word: str, candidates: Iterable[str], cutoff: float = CUTOFF) -> List[str]:
    return difflib.get_close_matches(word, sorted(set(candidates)), n=3, cutoff=cutoff)


def check_cfg_options(cfg: Config, options: Optional[Dict[str, object]],
                      source: str = '--cfg-options') -> None:
    """Raise :class:`ConfigOptionError` for an option key of ``options`` (as parsed by
    mmengine's ``DictAction``) that would create a mistyped key in ``cfg`` (see the module
    docstring); warn about other new nested keys. ``source`` names the options in messages."""
    where = f' ({cfg.filename})' if getattr(cfg, 'filename', None) else ''
    for key, value in (options or {}).items():
        node = cfg._cfg_dict
        parts = str(key).split('.')
        for depth, part in enumerate(parts):
            path = '.'.join(parts[:depth])
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigOptionError(
                        f'{source} {key}={value!r}: {path} of the config{where} is a list of '
                        f'{len(node)} item(s); {part!r} is not one of its indices '
                        f'0..{len(node) - 1}')
                node = node[int(part)]
                continue
            if not isinstance(node, dict):
                break  # into a value that is not a dict: mmengine's merge decides
            if part in node:
                node = node[part]
                continue
            siblings = [str(k) for k in node]
            if depth == 0:
                if part in KNOWN_TOP_LEVEL:
                    break
                close = _suggestion(part, siblings + list(KNOWN_TOP_LEVEL), cutoff=0.6)
                hint = f'; did you mean {" or ".join(map(repr, close))}?' if close else \
                    '; nothing reads a new top-level key'
                raise ConfigOptionError(f'{source} {key}={value!r}: the config{where} has no '
                                        f'top-level key {part!r}{hint}')
            close = _suggestion(part, siblings)
            if close:
                raise ConfigOptionError(
                    f'{source} {key}={value!r}: {path} of the config{where} has no key '
                    f'{part!r}; did you mean {" or ".join(map(repr, close))}? '
                    f'({path} has: {", ".join(siblings)})')
            print_log(f'{source} {key}={_short(value)} adds the key {part!r} to {path}, which the '
                      f'config{where} does not set (its keys: {", ".join(siblings)})',
                      logger='current', level=logging.WARNING)
            break


def _short(value, limit: int = 80) -> str:
    """``repr(value)``, a long list / tuple cut to its first items and its length."""
    text = repr(value)
    if len(text) <= limit or not isinstance(value, (list, tuple)):
        return text
    return f'{text[:limit - 20]}, ... ({len(value)} items)'


def merge_cfg_options(cfg: Config, options: Optional[Dict[str, object]],
                      source: str = '--cfg-options') -> None:
    """:func:`check_cfg_options`, then mmengine's ``cfg.merge_from_dict(options)``."""
    if options:
        check_cfg_options(cfg, options, source)
        cfg.merge_from_dict(options)
