from .affinity import AffinityNet, InterPixelRelationNet
from .backbones import EfficientNetLite0
from .heads import CAMHead
from .segmentors import CAMSegmentor

__all__ = ['AffinityNet', 'InterPixelRelationNet', 'EfficientNetLite0', 'CAMHead', 'CAMSegmentor']
