"""The environment a Runner logs at start, without importing torchvision for its version.

mmengine's ``Runner._log_env`` logs ``collect_env()``, which imports torchvision only to read
``torchvision.__version__``. That import costs 0.6 s of every training and test process on this
project's 2-core machines (``tools/benchmarks/tool_process.py``), where no config here uses
torchvision unless its pipeline holds mmpretrain's ``ColorJitter``. While the environment is
collected, :func:`torchvision_version_only` makes ``import torchvision`` give a module that
holds only the version, read from the installed package's ``torchvision/version.py`` (the same
string, local build tag included); the logged environment is mmengine's, entry for entry.
"""
import ast
import importlib.util
import os.path as osp
import sys
import types
from contextlib import contextmanager
from typing import Optional


def installed_torchvision_version() -> Optional[str]:
    """``torchvision.__version__`` of the installed package, read from the assignment in its
    ``version.py`` without importing it; ``None`` when torchvision is not installed or the
    file holds no literal version (then it is imported as usual)."""
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return None
    path = osp.join(list(spec.submodule_search_locations)[0], 'version.py')
    try:
        tree = ast.parse(open(path).read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == [
                '__version__'] and isinstance(node.value, ast.Constant) and isinstance(
                    node.value.value, str):
            return node.value.value
    return None


@contextmanager
def torchvision_version_only():
    """Within the block, ``import torchvision`` gives a module holding only ``__version__``
    when torchvision is installed and not imported yet; otherwise nothing changes (an imported
    torchvision is used as it is, a missing one stays missing). The stand-in is removed after,
    so a later ``import torchvision`` imports the package."""
    version = None if 'torchvision' in sys.modules else installed_torchvision_version()
    if version is None:
        yield
        return
    stand_in = types.ModuleType('torchvision', 'the installed torchvision\'s version only')
    stand_in.__version__ = version
    sys.modules['torchvision'] = stand_in
    try:
        yield
    finally:
        if sys.modules.get('torchvision') is stand_in:
            del sys.modules['torchvision']
