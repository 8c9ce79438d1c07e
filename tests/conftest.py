import os.path as osp

import pytest
from mmengine.registry import init_default_scope

import mmseg_hfpl  # noqa: F401  registers the plugin
from mmseg_hfpl.datasets import make_synthetic_voc

init_default_scope('mmseg')  # build configs as a Runner would

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small copy of the embedded dataset (VOC layout), made once per test session."""
    root = str(tmp_path_factory.mktemp('synthetic_voc'))
    make_synthetic_voc(root, num_train=16, num_val=4, height=64, width=64, seed=0)
    return root
