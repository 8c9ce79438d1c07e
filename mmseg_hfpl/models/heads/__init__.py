from .cam_head import CAMHead
from .largefov_head import LargeFOVHead
from .seam_head import SEAMHead, pixel_correlation

__all__ = ['CAMHead', 'LargeFOVHead', 'SEAMHead', 'pixel_correlation']
