from .efficientnet_lite import EfficientNetLite0
from .resnet38d import ResNet38d
from .mct_vit import MCTViT, convert_deit_state_dict

__all__ = ['EfficientNetLite0', 'ResNet38d', 'MCTViT', 'convert_deit_state_dict']
