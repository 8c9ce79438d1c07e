from .efficientnet_lite import EfficientNetLite0
from .resnet38d import ResNet38d

__all__ = ['EfficientNetLite0', 'ResNet38d']
