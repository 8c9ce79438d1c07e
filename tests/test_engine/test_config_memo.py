"""mmseg_hfpl.engine.config_memo: yapf's formatting of a config text and the model-index lookup
of an external (``mmseg::``) base are remembered, with the outputs the originals give."""
import os.path as osp

import mmengine.config.config as config_module
import mmengine.config.utils as config_utils
from mmengine.config import Config
from mmengine.config.utils import _get_package_and_cfg_path
from mmengine.utils import get_installed_path
from yapf.yapflib.yapf_api import FormatCode

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the style mmengine's Config.pretty_text passes to yapf (mmengine/config/config.py)
MMENGINE_STYLE = dict(based_on_style='pep8', blank_line_before_nested_class_or_def=True,
                      split_before_expression_after_opening_paren=True)


def test_pretty_text_is_yapfs_output_and_formatted_once():
    assert config_module.FormatCode.memoized  # installed on import mmseg_hfpl
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'hfpl', 'seam_voc.py'))
    # the unformatted text (the flag set on the object: Config.fromfile(...,
    # format_python_code=False) left it True for this config)
    super(Config, cfg).__setattr__('_format_python_code', False)
    raw = cfg.pretty_text
    super(Config, cfg).__setattr__('_format_python_code', True)
    expected = FormatCode(raw, style_config=MMENGINE_STYLE)[0]  # yapf itself, not memoized
    first = cfg.pretty_text
    assert first == expected and first != raw
    assert cfg.pretty_text is first  # the second read: the remembered string, not a new one
    cfg.merge_from_dict({'train_cfg.max_iters': 7})  # another text: formatted anew
    changed = cfg.pretty_text
    assert changed is not first and 'max_iters=7' in changed


def test_the_format_cache_keeps_only_the_last_texts():
    cache = config_module.FormatCode.cache
    for k in range(12):
        config_module.FormatCode(f'x = {k}\n', style_config=MMENGINE_STYLE)
    assert len(cache) == 8
    assert config_module.FormatCode('x = 11\n', style_config=MMENGINE_STYLE)[0] == 'x = 11\n'


def outcome(function, *args):
    """``function(*args)``, or the ValueError it raised (as its message)."""
    try:
        return function(*args)
    except ValueError as error:
        return f'ValueError: {error}'


def test_external_base_lookup_gives_the_originals_outcome_and_reads_the_index_once():
    """The model-index lookup of each ``mmseg::`` base gives what mmengine's own gives: a path,
    or the ValueError on which mmengine takes the package's file itself (a ``_base_/`` file is
    not in the index); the second lookup answers from the cache."""
    lookup = config_module._get_external_cfg_path
    assert lookup.memoized and not getattr(config_utils._get_external_cfg_path, 'memoized', 0)
    for base in ('mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512.py',
                 'mmseg::_base_/models/pspnet_r50-d8.py'):
        package, path = _get_package_and_cfg_path(base)
        package_path = get_installed_path(package)
        expected = outcome(config_utils._get_external_cfg_path, package_path, path)
        assert outcome(lookup, package_path, path) == expected, base
        key = repr(((package_path, path), []))
        remembered = lookup.cache[key]
        assert (f'ValueError: {remembered}' if isinstance(remembered, ValueError)
                else remembered) == expected
        lookup.cache[key] = 'from the cache'
        try:
            assert lookup(package_path, path) == 'from the cache'
        finally:
            lookup.cache[key] = remembered
    # configs on such bases resolve to their models
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'stage3',
                                   'deeplabv3plus_r101-d8_voc12aug-pseudo.py'))
    assert cfg.model.decode_head.type == 'DepthwiseSeparableASPPHead'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'pmm',
                                   'pspnet_r18tiny_synthetic-pmm-pseudo.py'))
    assert cfg.model.decode_head.type == 'PSPHead'
