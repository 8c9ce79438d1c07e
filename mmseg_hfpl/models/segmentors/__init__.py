from .cam_segmentor import CAMSegmentor
from .seam import SEAMSegmentor
from .sipe import SIPESegmentor
from .mctformer import MCTformerSegmentor
from .spatial_bce import SpatialBCESegmentor
from .dense_crf import DenseCRFPostProcessor, MeanSegTTAModel

__all__ = ['CAMSegmentor', 'SEAMSegmentor', 'SIPESegmentor', 'MCTformerSegmentor',
           'SpatialBCESegmentor', 'DenseCRFPostProcessor', 'MeanSegTTAModel']
