from .affinity import AffinityNet, InterPixelRelationNet
from .backbones import EfficientNetLite0, MCTViT, ResNet38d
from .heads import CAMHead, LargeFOVHead, MCTformerHead, SEAMHead, SIPEHead, SpatialBCEHead
from .segmentors import (CAMSegmentor, DenseCRFPostProcessor, MCTformerSegmentor,
                         MeanSegTTAModel, SEAMSegmentor, SIPESegmentor, SpatialBCESegmentor)

__all__ = ['AffinityNet', 'InterPixelRelationNet', 'EfficientNetLite0', 'MCTViT', 'ResNet38d',
           'CAMHead', 'LargeFOVHead', 'MCTformerHead', 'SEAMHead', 'SIPEHead', 'SpatialBCEHead',
           'CAMSegmentor', 'MCTformerSegmentor', 'SEAMSegmentor', 'SIPESegmentor',
           'SpatialBCESegmentor', 'DenseCRFPostProcessor', 'MeanSegTTAModel']
