from .background_curve import background_curve, best_threshold, write_curve
from .cam_inference import labels_from_cams, load_cams, multi_scale_cams, save_cams
from .crf import crf_cam_labels, crf_label_refine, crf_probabilities
from ..evaluation import score_label_files
from .generator import PseudoLabelGenerator, dataset_items, image_name
from .output_guard import UnsafeOutputError, check_output_dir, dataset_dirs
from .random_walk import dense_affinity, neighbour_pairs, random_walk
from .writer import check_output_dirs, write_label_png

__all__ = [
    'multi_scale_cams', 'save_cams', 'load_cams', 'labels_from_cams', 'crf_probabilities',
    'crf_cam_labels', 'crf_label_refine', 'background_curve', 'best_threshold', 'write_curve',
    'PseudoLabelGenerator', 'dataset_items', 'image_name', 'score_label_files',
    'check_output_dirs', 'check_output_dir', 'dataset_dirs', 'UnsafeOutputError',
    'write_label_png', 'neighbour_pairs', 'dense_affinity', 'random_walk'
]
