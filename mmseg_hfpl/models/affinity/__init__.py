from .affinity_net import AffinityNet, affinity_label_targets, affinity_loss
from .irn import InterPixelRelationNet, boundary_pair_affinity, line_offsets

__all__ = ['AffinityNet', 'InterPixelRelationNet', 'affinity_label_targets', 'affinity_loss',
           'boundary_pair_affinity', 'line_offsets']
