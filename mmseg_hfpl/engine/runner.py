from typing import Dict, Optional, Union

from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmseg.registry import RUNNERS

GUARD_KEY = 'non_finite'


@RUNNERS.register_module()
class HFPLRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` whose default hooks always include the
    project's training guard :class:`~mmseg_hfpl.engine.hooks.NonFiniteLossHook` (key
    ``'non_finite'``), so every model trained from a config with
    ``runner_type = 'HFPLRunner'`` (``configs/_base_/default_runtime.py``) stops at its first
    NaN / Inf loss, whatever ``default_hooks`` and ``custom_hooks`` the config sets.

    ``default_hooks.non_finite`` replaces the guard's config; ``default_hooks.non_finite=None``
    removes it.
    """

    def register_default_hooks(self,
                               hooks: Optional[Dict[str, Union[Hook, dict]]] = None) -> None:
        hooks = dict(hooks or {})
        guard = hooks.pop(GUARD_KEY, dict(type='NonFiniteLossHook'))
        super().register_default_hooks(hooks)
        if guard is not None:
            self.register_hook(guard)
