from .boundary_f_metric import BoundaryFMetric
from .functional import boundary_f_matches, boundary_f_score, seg2bmap

__all__ = ['BoundaryFMetric', 'boundary_f_matches', 'boundary_f_score', 'seg2bmap']
