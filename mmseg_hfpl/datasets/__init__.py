from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE, make_synthetic_voc
from .transforms import PackWSSSInputs, RandomResizeLong
from .wsss_voc_dataset import WSSSVOCDataset, load_image_labels

__all__ = ['WSSSVOCDataset', 'PackWSSSInputs', 'RandomResizeLong', 'load_image_labels',
           'make_synthetic_voc', 'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE']
