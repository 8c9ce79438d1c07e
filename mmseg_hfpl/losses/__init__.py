from .feature_similarity_loss import FeatureSimilarityLoss, gate_scores
from .gap_loss import GAPMultiLabelLoss
from .importance_sampling_loss import ImportanceSamplingLoss
from .seam_losses import (AdaptiveMinPoolingLoss, EquivariantCrossRegularizationLoss,
                          EquivariantRegularizationLoss)

__all__ = ['FeatureSimilarityLoss', 'GAPMultiLabelLoss', 'ImportanceSamplingLoss', 'gate_scores',
           'AdaptiveMinPoolingLoss', 'EquivariantCrossRegularizationLoss',
           'EquivariantRegularizationLoss']
