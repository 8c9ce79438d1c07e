"""The module order of ``make test`` (tests/conftest.py): every module named as slow exists,
once, so that a renamed module is not silently scheduled last again."""
import os.path as osp

from .conftest import ROOT, SLOW_FIRST


def test_every_slow_module_exists_once():
    missing = [m for m in SLOW_FIRST if not osp.isfile(osp.join(ROOT, m))]
    assert not missing, missing
    assert len(set(SLOW_FIRST)) == len(SLOW_FIRST)
