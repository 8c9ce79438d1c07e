from .affinity import AffinityNet
from .heads import CAMHead
from .segmentors import CAMSegmentor

__all__ = ['AffinityNet', 'CAMHead', 'CAMSegmentor']
