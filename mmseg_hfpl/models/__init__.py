from .affinity import AffinityNet, InterPixelRelationNet
from .heads import CAMHead
from .segmentors import CAMSegmentor

__all__ = ['AffinityNet', 'InterPixelRelationNet', 'CAMHead', 'CAMSegmentor']
