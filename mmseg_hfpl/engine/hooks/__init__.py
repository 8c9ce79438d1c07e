from .cam_visualization_hook import CAMVisualizationHook
from .pseudo_label_hook import PseudoLabelHook

__all__ = ['CAMVisualizationHook', 'PseudoLabelHook']
