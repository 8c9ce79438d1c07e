from .affinity import AffinityNet, InterPixelRelationNet
from .backbones import EfficientNetLite0, ResNet38d
from .heads import CAMHead, LargeFOVHead, SEAMHead
from .segmentors import CAMSegmentor, SEAMSegmentor

__all__ = ['AffinityNet', 'InterPixelRelationNet', 'EfficientNetLite0', 'ResNet38d', 'CAMHead',
           'LargeFOVHead', 'SEAMHead', 'CAMSegmentor', 'SEAMSegmentor']
