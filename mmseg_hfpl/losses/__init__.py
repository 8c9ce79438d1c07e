from .feature_similarity_loss import FeatureSimilarityLoss, gate_scores
from .gap_loss import GAPMultiLabelLoss
from .importance_sampling_loss import ImportanceSamplingLoss
from .puf_loss import PretendedUnderFittingLoss, pretended_underfitting
from .seam_losses import (AdaptiveMinPoolingLoss, EquivariantCrossRegularizationLoss,
                          EquivariantRegularizationLoss)
from .sipe_losses import GeneralSpecificConsistencyLoss
from .spatial_bce_loss import ForegroundRatioKLLoss, SpatialBCELoss

__all__ = ['FeatureSimilarityLoss', 'GAPMultiLabelLoss', 'ImportanceSamplingLoss', 'gate_scores',
           'AdaptiveMinPoolingLoss', 'EquivariantCrossRegularizationLoss',
           'EquivariantRegularizationLoss', 'PretendedUnderFittingLoss',
           'pretended_underfitting', 'GeneralSpecificConsistencyLoss',
           'ForegroundRatioKLLoss', 'SpatialBCELoss']
