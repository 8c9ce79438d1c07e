from .checkpoint_compat import register_trusted_local_loader
from .dist import destroy_process_group, init_cpu_process_group
from .hooks import CAMVisualizationHook, PseudoLabelHook

__all__ = [
    'CAMVisualizationHook', 'PseudoLabelHook', 'destroy_process_group', 'init_cpu_process_group',
    'register_trusted_local_loader'
]
