from .affinity_net import AffinityNet, affinity_label_targets, affinity_loss

__all__ = ['AffinityNet', 'affinity_label_targets', 'affinity_loss']
