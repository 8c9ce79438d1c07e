"""The two OpenMMLab lines the plugin runs on, checked at import.

- upstream (frozen): mmengine 0.10.7, mmcv 2.1.0, mmsegmentation 1.2.2, mmpretrain 1.2.0;
- the maintained forks: onedl-mmengine 0.10.12, onedl-mmsegmentation 1.4.2, onedl-mmpretrain
  1.3.6 (and onedl-mmcv 2.3.x), which install the same modules under other distribution names.

mmengine resolves ``mmseg::`` / ``mmpretrain::`` base configs through the *distribution* of the
module (``MODULE2PACKAGE``: ``mmseg`` -> ``mmsegmentation``); with only the onedl distributions
installed, even onedl-mmengine 0.10.12 reports "mmsegmentation is not installed".
:func:`register_onedl_packages` points those entries at the onedl distributions (the tools import
the plugin before they parse a config).
"""
from importlib.metadata import PackageNotFoundError, version

import mmcv
import mmengine
import mmseg
from mmengine.utils import digit_version

# (module, minimum, maximum exclusive): the range tested on the two lines above
VERSIONS = (('mmengine', mmengine.__version__, '0.10.4', '1.0.0'),
            ('mmcv', mmcv.__version__, '2.0.0rc4', '2.4.0'),
            ('mmseg', mmseg.__version__, '1.2.2', '1.5.0'))


def check_versions() -> None:
    for name, found, low, high in VERSIONS:
        if not digit_version(low) <= digit_version(found) < digit_version(high):
            raise ImportError(f'mmseg_hfpl needs {name} >= {low}, < {high}; found {found} (see '
                              'README.md, Installation)')


def _installed(distribution: str) -> bool:
    try:
        version(distribution)
        return True
    except PackageNotFoundError:
        return False


def register_onedl_packages() -> dict:
    """Map ``mmseg`` / ``mmpretrain`` (and ``mmdet``) to their onedl distributions in mmengine's
    ``MODULE2PACKAGE`` when only those are installed; returns the entries changed."""
    from mmengine.config import utils
    changed = {}
    for module, upstream in (('mmseg', 'mmsegmentation'), ('mmpretrain', 'mmpretrain'),
                             ('mmdet', 'mmdet')):
        onedl = f'onedl-{upstream}'
        if utils.MODULE2PACKAGE.get(module) == upstream and not _installed(upstream) \
                and _installed(onedl):
            utils.MODULE2PACKAGE[module] = changed[module] = onedl
    return changed
