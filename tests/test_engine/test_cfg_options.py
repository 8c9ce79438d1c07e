"""merge_cfg_options: a --cfg-options key that would create a key nothing reads is refused with
a close-match suggestion, in every tool that takes --cfg-options."""
import os
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmseg_hfpl.engine.cfg_options import ConfigOptionError, merge_cfg_options

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAGE3 = os.path.join(ROOT, 'configs', 'stage3', 'deeplabv3plus_r18tiny_synthetic-pseudo.py')
DEMO = os.path.join(ROOT, 'configs', 'hfpl', 'demo_synthetic.py')


@pytest.mark.parametrize('key,value,suggestion', [
    ('pseudo_label_dirr', 'work_dirs/pl', "'pseudo_label_dir'"),
    ('randomnes.seed', 3, "'randomness'"),
    ('model.test_cfg.bg_treshold', 0.5, "'bg_threshold'"),
    ('train_cfg.max_iter', 3, "'max_iters'"),
])
def test_typos_are_refused_with_a_suggestion(key, value, suggestion):
    cfg = Config.fromfile(DEMO)
    before = cfg.pretty_text
    with pytest.raises(ConfigOptionError) as err:
        merge_cfg_options(cfg, {key: value})
    msg = str(err.value)
    assert f'--cfg-options {key}={value!r}' in msg and f'did you mean {suggestion}' in msg, msg
    assert 'demo_synthetic.py' in msg
    assert cfg.pretty_text == before  # nothing merged


def test_documented_and_new_keys_still_merge():
    cfg = Config.fromfile(STAGE3)
    options = {
        'pseudo_label_dir': 'work_dirs/pl/aff_crf', 'test_crf': True, 'load_from': 'x.pth',
        'randomness.seed': 3, 'default_hooks.non_finite': None, 'crf_model.workers': 2,
        'train_dataloader.dataset.pipeline.1.scale': (64, 64),
        'model.backbone.norm_eval': True,  # a constructor argument the config leaves default
    }
    merge_cfg_options(cfg, options)
    assert cfg.test_crf is True and cfg.randomness.seed == 3
    assert cfg.default_hooks.non_finite is None and cfg.model.backbone.norm_eval is True
    assert cfg.train_dataloader.dataset.pipeline[1].scale == (64, 64)


def test_a_new_key_is_merged_with_a_warning_that_cuts_long_lists():
    """A key the config does not set (``indices``, configs/_base_/datasets/msrc_split.py)
    merges whole; the warning names it and shows a long value only by its first items."""
    import logging

    from mmengine.logging import MMLogger

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    records, handler = [], Keep()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        cfg = Config.fromfile(STAGE3)
        indices = list(range(1000, 1320))
        merge_cfg_options(cfg, {'train_dataloader.dataset.indices': indices})
    finally:
        logger.removeHandler(handler)
    assert cfg.train_dataloader.dataset.indices == indices
    log = '\n'.join(records)
    assert "adds the key 'indices' to train_dataloader.dataset" in log, log
    assert '[1000, 1001, ' in log and '... (320 items)' in log and '1319' not in log


def test_a_list_index_past_the_end_is_refused():
    cfg = Config.fromfile(STAGE3)
    n = len(cfg.train_dataloader.dataset.pipeline)
    with pytest.raises(ConfigOptionError, match=f'is a list of {n} item'):
        merge_cfg_options(cfg, {f'train_dataloader.dataset.pipeline.{n}.scale': (64, 64)})


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/make_pseudo_labels.py'])
def test_tools_refuse_a_mistyped_key(tool, tmp_path):
    args = [DEMO] + (['missing.pth', '--out', str(tmp_path / 'out')]
                     if 'pseudo' in tool else ['--work-dir', str(tmp_path)])
    res = subprocess.run([sys.executable, tool, *args, '--cfg-options', 'randomnes.seed=3'],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode != 0
    assert ("ConfigOptionError: --cfg-options randomnes.seed=3: the config "
            f"({DEMO}) has no top-level key 'randomnes'; did you mean 'randomness'?"
            in res.stderr), res.stderr[-3000:]
    assert os.listdir(tmp_path) == []  # refused before anything was written
