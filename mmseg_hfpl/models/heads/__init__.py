from .cam_head import CAMHead
from .seam_head import SEAMHead, pixel_correlation

__all__ = ['CAMHead', 'SEAMHead', 'pixel_correlation']
