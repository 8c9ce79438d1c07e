"""tools/benchmarks/pipeline_cost.py at a tiny size on the CPU: the tables it prints and writes,
and its projections re-derived from the measured times."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools', 'benchmarks'))
import pipeline_cost  # noqa: E402

WORKERS = 3
IMAGES = {'VOC train_aug': 10582, 'VOC val': 1449, 'COCO train': 82783, 'COCO val': 40504}
# training iterations of the schedules, from the configs' own arithmetic: SEAM 8 epochs of
# 10,582 // 8 (drop_last) batches; AffinityNet max_iters 10576 (COCO: 82783 // 8 * 8); IRN 990
# (no COCO config); stage 3 20k (COCO 200k)
ITERS = {'train_cam': {'voc': 8 * (10582 // 8), 'coco': 8 * (82783 // 8)},
         'train_aff': {'voc': 10576, 'coco': 82783 // 8 * 8},
         'train_irn': {'voc': 990},
         'train_seg': {'voc': 20000, 'coco': 200000}}
CONFIG_BATCH = {'train_cam': 8, 'train_aff': 8, 'train_irn': 32, 'train_seg': 10}


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('pipeline_cost') / 'cost.json'
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'benchmarks', 'pipeline_cost.py'), '--size',
           '64', '--r38-width', '8', '--batch', '1', '--threads', '1', '--workers',
           str(WORKERS), '--out', str(out)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    return res, json.loads(out.read_text())


def test_header_tables_and_progress(run):
    res, table = run
    lines = res.stdout.splitlines()
    assert 'CPUs' in lines[0] and 'device cpu' in lines[0] and '1 threads' in lines[0]
    assert lines[1].startswith('image 64x48 (ratio 0.128 of VOC 500x375')
    assert 'ResNet-38 width 8/64' in lines[1]
    for row in table['inference'] + table['training']:
        assert sum(line.startswith(row['name']) for line in lines) == 1, row['name']
    # progress goes to stderr, one line per measured stage at least
    assert res.stderr.count('[pipeline_cost]') >= 9
    assert '[pipeline_cost]' not in res.stdout


def test_every_stage_is_measured_with_its_model(run):
    _, table = run
    stages = [r['stage'] for r in table['inference']]
    assert stages == ['cam', 'crf', 'aff', 'irn', 'test']
    assert [r['stage'] for r in table['training']] == list(ITERS)
    models = {r['stage']: r['model'] for r in table['inference'] + table['training']}
    assert models['cam'] == models['aff'] == models['test'] == 'R38 8/64'
    assert models['irn'] == models['train_irn'] == 'ResNet50 full'
    names = {r['stage']: r['name'] for r in table['inference']}
    assert names['cam'] == 'CAM, 4 scales + flip (8 passes)'  # seam_r38_voc.py's scales
    assert names['crf'].startswith('CRF alpha 4, 24')  # its crf_alphas
    assert names['test'].startswith('stage-3 test, 12 views + CRF')  # 6 ratios x 2 flips
    for row in table['inference'] + table['training']:
        assert row['per_image_s'] > 0 and row['rss_mb'] > 100 and row['cuda_mb'] is None
    assert table['size'] == [64, 48] and table['workers'] == WORKERS
    assert table['failed'] == {} and 'FAILED' not in run[0].stdout


def test_inference_projections_are_images_times_seconds_over_workers(run):
    res, table = run
    assert table['datasets'] == IMAGES
    for row in table['inference']:
        assert set(row['hours']) == set(IMAGES)
        for data, n in IMAGES.items():
            assert row['hours'][data] == pytest.approx(n * row['per_image_s'] / WORKERS / 3600,
                                                       rel=1e-12)
        # the printed row carries the same numbers
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(row['name']))
        printed = line.split('|')
        assert float(printed[1]) == pytest.approx(row['per_image_s'], abs=6e-4)
        assert [float(v) for v in printed[3].split()] == [
            pytest.approx(row['hours'][d], abs=6e-3) for d in IMAGES]


def test_training_projections_are_iterations_times_seconds_over_workers(run):
    res, table = run
    for row in table['training']:
        stage = row['stage']
        assert row['batch'] == 1 and row['config_batch'] == CONFIG_BATCH[stage]
        assert row['per_image_s'] == pytest.approx(row['measured_iter_s'] / row['batch'])
        assert row['iter_s'] == pytest.approx(row['per_image_s'] * CONFIG_BATCH[stage])
        assert row['iters'] == ITERS[stage]
        for data, iters in ITERS[stage].items():
            assert row['hours'][data] == pytest.approx(iters * row['iter_s'] / WORKERS / 3600,
                                                       rel=1e-12)
        line = next(ln for ln in res.stdout.splitlines() if ln.startswith(row['name']))
        cells = line.split('|')
        assert cells[0].split()[-1] == f'1/{CONFIG_BATCH[stage]}'
        assert int(cells[3].split()[0]) == ITERS[stage]['voc']
        assert float(cells[3].split()[1]) == pytest.approx(row['hours']['voc'], abs=6e-3)
        assert cells[4].split()[0] == str(ITERS[stage].get('coco', '-'))


def test_whole_pipeline_sums_its_stages(run):
    res, table = run
    rows = {r['stage']: r for r in table['inference'] + table['training']}
    totals = table['pipelines']['SEAM -> AffinityNet -> stage 3']
    for data, train_split, val_split in (('voc', 'VOC train_aug', 'VOC val'),
                                         ('coco', 'COCO train', 'COCO val')):
        expected = sum(rows[s]['hours'][data] for s in ('train_cam', 'train_aff', 'train_seg'))
        expected += sum(rows[s]['hours'][train_split] for s in ('cam', 'crf', 'aff'))
        expected += rows['test']['hours'][val_split]
        assert totals[data] == pytest.approx(expected, rel=1e-12)
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith('whole pipeline'))
    assert f'VOC {pipeline_cost.hours(totals["voc"])} h' in line


def test_schedule_iters_and_narrowing_from_the_configs():
    cam = Config.fromfile(osp.join(ROOT, 'configs/seam/seam_r38_voc.py'))
    assert pipeline_cost.schedule_iters(cam, 10582) == 8 * 1322  # drop_last
    assert pipeline_cost.schedule_iters(cam, 17) == 8 * 2
    cfg, model_cfg, width, crop = pipeline_cost.load_config(
        'configs/affinity/affinitynet_r38_voc12aug.py', 16, 0.5)
    assert width == 'R38 16/64' and crop == (224, 224)
    assert model_cfg['backbone']['base_channels'] == 16
    assert tuple(model_cfg['in_channels']) == (128, 256, 1024)
    assert model_cfg['backbone']['init_cfg'] is None
    _, seam, _, _ = pipeline_cost.load_config('configs/seam/seam_r38_voc.py', 16, 1.0)
    assert tuple(seam['decode_head']['in_channels']) == (128, 256, 1024)
    assert seam['decode_head']['channels'] == 1024
    _, seg, width, crop = pipeline_cost.load_config(
        'configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py', 64, 1.0)
    assert width == 'R38 full' and crop == (448, 448)
    assert seg['decode_head']['in_channels'] == 4096
    assert seg['backbone']['norm_cfg']['type'] == 'BN'  # SyncBN: one process


def test_a_failing_stage_is_reported_and_the_others_still_run(tmp_path, monkeypatch):
    import argparse

    from mmengine.registry import init_default_scope

    import mmseg_hfpl  # noqa: F401
    init_default_scope('mmseg')

    def no_crf(self):
        raise ImportError('CRF refinement needs pydensecrf')

    monkeypatch.setattr(pipeline_cost.Bench, 'crf', no_crf)
    args = argparse.Namespace(device='cpu', size=48, r38_width=8, batch=1, workers=1, repeat=1,
                              warmup=0, stages=['crf', 'train_aff'])
    bench = pipeline_cost.Bench(args, str(tmp_path))
    bench.run()
    assert bench.failed == {'crf': 'ImportError: CRF refinement needs pydensecrf'}
    assert bench.inference == []  # the CAMs were made for the CRF, untimed
    assert osp.isfile(bench.cam_path)
    assert [r['stage'] for r in bench.training] == ['train_aff']
