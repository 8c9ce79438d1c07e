from .cam_visualization_hook import CAMVisualizationHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pseudo_label_hook import PseudoLabelHook

__all__ = ['CAMVisualizationHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'PseudoLabelHook']
