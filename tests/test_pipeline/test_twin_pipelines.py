"""The other methods' twin pipelines end to end on the small embedded dataset (16 training
images of 64 px, 2 iterations per training stage): each baseline pipeline runs every stage; its
add-on twin, whose stages differ only in the CAM network, runs the stages that differ and the
pseudo-labels made from them (the later stages are the baseline's). A module of its own, so that
pytest-xdist schedules it apart from the SEAM pipeline's module."""
import json
import os.path as osp

import pytest

from .test_run_pipeline import ROOT, report_rows, run_pipeline

OTHER_TWINS = ['sipe', 'mctformer', 'spatial_bce', 'pmm']


@pytest.mark.pipelines
@pytest.mark.parametrize('pipeline', [f'{p}{m}' for m in OTHER_TWINS for p in ('', 'hfpl_')])
def test_baseline_twin_pipelines_run_end_to_end(pipeline, synthetic_root, tmp_path):
    from mmengine.config import Config
    config = f'configs/pipelines/{pipeline}_synthetic.py'
    extra = ()
    if pipeline.startswith('hfpl_'):
        # the add-on twin differs from its baseline only in the CAM stages before the
        # pseudo-labels: it runs up to them, the identical later stages run in the baseline's test
        twin = Config.fromfile(osp.join(ROOT, config)).stages
        base = Config.fromfile(osp.join(ROOT, config.replace('hfpl_', ''))).stages
        assert list(twin) == list(base)
        differ = [name for name in twin if twin[name] != base[name]]
        last = list(twin).index('pseudo_labels')
        assert differ and all(list(twin).index(name) < last for name in differ), differ
        assert all(twin[name]['kind'] == 'train' for name in differ)
        extra = ('--to', 'pseudo_labels')
    log = run_pipeline(config, tmp_path / pipeline, synthetic_root, *extra)
    state = json.load(open(tmp_path / pipeline / 'pipeline.json'))
    order = state['order']
    ran = order[:order.index('pseudo_labels') + 1] if extra else order
    assert list(state['stages']) == ran
    for k, name in enumerate(ran, 1):
        assert f'[pipeline] stage {k}/{len(order)} {name} (' in log
    rows = report_rows(tmp_path / pipeline)
    assert list(rows) == order  # a row for every stage
    for name in order[len(ran):]:
        assert rows[name] == [('not run', '—', '—', '—')], name
    for name, record in state['stages'].items():
        if record['kind'] != 'train' or record['metrics']:  # AffinityNet / IRN: not scored
            assert any(r[1] != '—' and r[2] != '—' for r in rows[name]), name
    if not extra:
        assert state['stages'][order[-1]]['metrics']['test']['how'].endswith('dense CRF')
