from .checkpoint_check import (CheckpointError, assert_finite_parameters,
                               load_checkpoint_checked)
from .checkpoint_compat import register_local_loader
from .dist import destroy_process_group, init_cpu_process_group
from .process_exit import skip_exit_collection
from .hooks import CAMVisualizationHook, NonFiniteLossError, NonFiniteLossHook, PseudoLabelHook
from .runner import HFPLRunner
from .schedulers import TimmCosineLR, timm_cosine_lr

__all__ = [
    'CAMVisualizationHook', 'CheckpointError', 'HFPLRunner', 'NonFiniteLossError',
    'NonFiniteLossHook', 'PseudoLabelHook', 'TimmCosineLR', 'assert_finite_parameters',
    'destroy_process_group', 'init_cpu_process_group', 'load_checkpoint_checked',
    'register_local_loader', 'skip_exit_collection', 'timm_cosine_lr'
]
