from .cam_segmentor import CAMSegmentor
from .seam import SEAMSegmentor

__all__ = ['CAMSegmentor', 'SEAMSegmentor']
