from .boundary_f_metric import BoundaryFMetric
from .dataset_scores import (boundary_f_counts_parallel, image_counts, score_label_files,
                             summarise_counts)
from .functional import boundary_f_matches, boundary_f_score, class_boundary_bits, seg2bmap

__all__ = [
    'BoundaryFMetric', 'boundary_f_counts_parallel', 'boundary_f_matches', 'boundary_f_score',
    'class_boundary_bits', 'image_counts', 'score_label_files', 'seg2bmap', 'summarise_counts'
]
