from .heads import CAMHead
from .segmentors import CAMSegmentor

__all__ = ['CAMHead', 'CAMSegmentor']
