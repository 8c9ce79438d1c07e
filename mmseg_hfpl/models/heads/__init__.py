from .add_on import AddOn, AddOnMixin
from .cam_head import CAMHead
from .largefov_head import LargeFOVHead
from .seam_head import SEAMHead, pixel_correlation
from .sipe_head import SIPEHead
from .mctformer_head import MCTformerHead, class_token_logits
from .spatial_bce_head import SpatialBCEHead

__all__ = ['AddOn', 'AddOnMixin', 'CAMHead', 'LargeFOVHead', 'SEAMHead', 'pixel_correlation', 'SIPEHead',
           'MCTformerHead', 'class_token_logits', 'SpatialBCEHead']
