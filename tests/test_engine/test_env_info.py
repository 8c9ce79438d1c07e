"""mmseg_hfpl.engine.env_info: the Runner's logged environment is mmengine's, collected without
importing torchvision."""
import sys

import torchvision
from mmengine.utils.dl_utils import collect_env

from mmseg_hfpl.engine.env_info import installed_torchvision_version, torchvision_version_only


def test_the_version_is_read_without_importing_the_package():
    assert installed_torchvision_version() == torchvision.__version__  # build tag included


def test_collect_env_gives_mmengines_environment_without_importing_torchvision():
    real = sys.modules.pop('torchvision')  # as in a process that has not imported it
    try:
        with torchvision_version_only():
            import torchvision as inside
            assert inside is not real and inside.__version__ == real.__version__
            env = collect_env()
        assert 'torchvision' not in sys.modules  # the stand-in is gone: a later import imports
    finally:
        sys.modules['torchvision'] = real
    assert env == collect_env()  # entry for entry what mmengine logs with torchvision imported
    assert env['TorchVision'] == torchvision.__version__


def test_an_imported_torchvision_is_left_as_it_is():
    with torchvision_version_only():
        assert sys.modules['torchvision'] is torchvision


def test_without_torchvision_nothing_is_made_up(monkeypatch):
    monkeypatch.delitem(sys.modules, 'torchvision')
    monkeypatch.setattr('importlib.util.find_spec', lambda name: None)  # not installed
    assert installed_torchvision_version() is None
    with torchvision_version_only():
        assert 'torchvision' not in sys.modules
