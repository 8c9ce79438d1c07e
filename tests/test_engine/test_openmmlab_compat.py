"""The import-time checks of the OpenMMLab line (upstream or the onedl-* forks)."""
import pytest
from mmengine.config import utils

from mmseg_hfpl.engine import openmmlab_compat


def test_versions_outside_the_tested_range_are_refused(monkeypatch):
    openmmlab_compat.check_versions()  # the installed stack
    monkeypatch.setattr(openmmlab_compat, 'VERSIONS',
                        (('mmseg', '1.1.2', '1.2.2', '1.5.0'), ))
    with pytest.raises(ImportError, match='mmseg >= 1.2.2, < 1.5.0; found 1.1.2'):
        openmmlab_compat.check_versions()
    monkeypatch.setattr(openmmlab_compat, 'VERSIONS', (('mmcv', '2.3.6', '2.0.0rc4', '2.4.0'),
                                                       ('mmseg', '1.4.2', '1.2.2', '1.5.0')))
    openmmlab_compat.check_versions()  # the onedl line's versions pass


def test_mmseg_configs_resolve_through_the_onedl_distributions(monkeypatch):
    # mmengine's own mapping (the import may already have changed it, on the onedl line)
    monkeypatch.setattr(utils, 'MODULE2PACKAGE', dict(
        utils.MODULE2PACKAGE, mmseg='mmsegmentation', mmpretrain='mmpretrain', mmdet='mmdet'))
    # upstream installed (this environment, or both): nothing changes
    monkeypatch.setattr(openmmlab_compat, '_installed', lambda dist: True)
    assert openmmlab_compat.register_onedl_packages() == {}
    assert utils.MODULE2PACKAGE['mmseg'] == 'mmsegmentation'
    # only the onedl distributions: mmseg:: / mmpretrain:: bases resolve through them
    monkeypatch.setattr(openmmlab_compat, '_installed', lambda dist: dist.startswith('onedl-'))
    assert openmmlab_compat.register_onedl_packages() == {
        'mmseg': 'onedl-mmsegmentation', 'mmpretrain': 'onedl-mmpretrain', 'mmdet': 'onedl-mmdet'}
    assert utils.MODULE2PACKAGE['mmseg'] == 'onedl-mmsegmentation'
