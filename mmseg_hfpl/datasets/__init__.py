from .checks import (DataFileError, check_seg_map, corrupt_jpeg_reason, read_image, read_mask,
                     read_split, truncated_image_reason)
from .affinity_transforms import AffinityLabelsFromCRF
from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_PALETTE, make_synthetic_voc
from .transforms import (ColorJitter, PackWSSSInputs, RandomContainerCrop, RandomHSV,
                         RandomRescale, RandomResizeLong, pil_resize)
from .wsss_voc_dataset import WSSSCOCODataset, WSSSVOCDataset, load_image_labels

__all__ = ['ColorJitter', 'WSSSVOCDataset', 'WSSSCOCODataset', 'PackWSSSInputs',
           'RandomResizeLong',
           'RandomRescale', 'RandomContainerCrop', 'RandomHSV', 'pil_resize', 'load_image_labels',
           'AffinityLabelsFromCRF', 'make_synthetic_voc', 'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE',
           'DataFileError', 'check_seg_map', 'read_image', 'read_mask', 'read_split',
           'truncated_image_reason', 'corrupt_jpeg_reason']
