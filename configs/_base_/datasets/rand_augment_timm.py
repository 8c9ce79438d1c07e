# mmpretrain's 'timm_increasing' RandAugment policies (timm's rand-...-inc1 set, used by
# MCTformer's and Spatial-BCE's training transforms), spelled out with the mmpretrain scope:
# RandAugment builds its policies in the default mmseg scope, where they do not exist. A config
# lists this file among its bases and passes policies=_base_.timm_increasing.
timm_increasing = [
    dict(type='mmpretrain.AutoContrast'),
    dict(type='mmpretrain.Equalize'),
    dict(type='mmpretrain.Invert'),
    dict(type='mmpretrain.Rotate', magnitude_range=(0, 30)),
    dict(type='mmpretrain.Posterize', magnitude_range=(4, 0)),
    dict(type='mmpretrain.Solarize', magnitude_range=(256, 0)),
    dict(type='mmpretrain.SolarizeAdd', magnitude_range=(0, 110)),
    dict(type='mmpretrain.ColorTransform', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Contrast', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Brightness', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Sharpness', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Shear', magnitude_range=(0, 0.3), direction='horizontal'),
    dict(type='mmpretrain.Shear', magnitude_range=(0, 0.3), direction='vertical'),
    dict(type='mmpretrain.Translate', magnitude_range=(0, 0.45), direction='horizontal'),
    dict(type='mmpretrain.Translate', magnitude_range=(0, 0.45), direction='vertical'),
]
