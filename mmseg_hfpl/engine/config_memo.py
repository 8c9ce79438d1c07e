"""Remember two pure steps of mmengine's config handling, once per process.

Both are pure functions of their arguments (and of the installed package files, which do not
change while a process runs), and both are repeated often:

- ``Config.pretty_text`` formats the config's text with yapf's ``FormatCode`` every time it is
  read. A Runner reads it five or more times per run: the logged config, the dumped config, the
  runtime info hook, and the meta of every checkpoint. Each read costs about 0.3-0.5 s on this
  project's 2-core CPUs.
- A ``mmseg::...`` base is first looked up in the package's model index; when that raises
  ValueError, mmengine takes the package's file itself. A ``_base_/`` file is not in the index,
  and with mmsegmentation 1.2.2 a method config is not found either: mmengine strips the
  ``.py`` the index keeps. For each such base, mmengine reads ``model-index.yml`` and every
  ``metafile.yml`` it lists: more than 50 YAML files for mmsegmentation, about 0.4 s. The
  stage-3 configs inherit such bases, and a pipeline or study resolves them again for every
  stage and experiment.

:func:`memoize_config_helpers` (called on ``import mmseg_hfpl``) makes both remember their last
results. The same arguments give the same output as before, computed once.
"""
import functools

import mmengine.config.config as _config_module

_CACHE_SIZE = 8


def _memoized(original, size: int, remembered_errors: tuple = ()):
    """``original`` keeping its last ``size`` results (or raised ``remembered_errors``), keyed
    by the repr of its arguments."""
    cache = {}

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        key = repr((args, sorted(kwargs.items())))
        if key not in cache:
            if len(cache) >= size:
                cache.pop(next(iter(cache)))  # the oldest
            try:
                cache[key] = original(*args, **kwargs)
            except remembered_errors as error:
                cache[key] = error
        if isinstance(cache[key], BaseException):
            raise cache[key]
        return cache[key]

    wrapper.memoized = True
    wrapper.cache = cache
    return wrapper


def memoize_config_helpers() -> None:
    """Make ``FormatCode`` (yapf) and ``_get_external_cfg_path`` (the model-index lookup of an
    external base), as ``mmengine.config.config`` calls them, remember their last results.
    Calling it again changes nothing."""
    # a base without a model-index entry (``mmseg::_base_/...``) raises ValueError, on which
    # mmengine takes the package's file itself: remembered too
    for name, size, errors in (('FormatCode', _CACHE_SIZE, ()),
                               ('_get_external_cfg_path', 64, (ValueError, ))):
        original = getattr(_config_module, name)
        if not getattr(original, 'memoized', False):
            setattr(_config_module, name, _memoized(original, size, errors))
