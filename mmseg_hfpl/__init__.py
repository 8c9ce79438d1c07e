"""mmseg_hfpl: High-fidelity Pseudo-labels for Boosting Weakly-Supervised Segmentation
(Jonnarth, Zhang, Felsberg, WACV 2024) as an MMSegmentation 1.x plugin.

Importing the package registers its losses, models, datasets, transforms, metrics and hooks
into mmseg's registries (enable it in a config with ``custom_imports``).
"""
from .datasets import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .engine.checkpoint_compat import register_local_loader
from .engine.config_memo import memoize_config_helpers
from .engine.openmmlab_compat import check_versions, register_onedl_packages
from .evaluation import *  # noqa: F401,F403
from .pseudo_labels import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .models import *  # noqa: F401,F403

__version__ = '0.1.0'

check_versions()
register_local_loader()
register_onedl_packages()
memoize_config_helpers()
