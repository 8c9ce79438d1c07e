"""tools/gpu_check.py's pieces on CPU (the script itself needs CUDA)."""
import os
import os.path as osp
import sys

import numpy as np
import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import gpu_check  # noqa: E402


def test_without_cuda_it_says_so_in_one_line_and_succeeds(capsys):
    import torch
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA: the script would run its checks')
    assert gpu_check.main([]) == 0
    out = capsys.readouterr().out
    assert out.count('\n') == 1 and out.startswith('gpu_check: no CUDA device')


def test_fsl_check_on_cpu_matches_the_dense_reference():
    res = gpu_check.check_fsl('cpu', size=6, batch=2, channels=3, repeats=1)
    assert res['value_diff'] < 1e-5 and res['grad_diff'] < 1e-5
    assert res['ours_memory'] is None and res['ref_memory'] is None  # CUDA only
    assert res['ours_value'] == pytest.approx(res['ref_value'], rel=1e-5)
    row = gpu_check.fsl_row(6, res)
    assert row['status'] == 'ok' and row['peak memory'] == 'n/a / n/a'
    bad = dict(res, grad_diff=1e-2)
    assert gpu_check.fsl_row(6, bad)['status'] == 'FAIL'


def test_format_table():
    rows = [dict(check='FSL 56x56', status='ok', time='1.0 / 2.0 ms'),
            dict(check='train seam (amp)', status='FAIL', notes='boom')]
    lines = gpu_check.format_table(rows).splitlines()
    assert lines[0].split() == ['check', 'status', 'value', '/', 'grad', 'diff', 'time', 'peak',
                                'memory', 'notes']
    assert set(lines[1].replace(' ', '')) == {'-'}
    width = len('train seam (amp)')
    assert lines[2].startswith('FSL 56x56'.ljust(width) + '  ok    ')
    assert lines[3].startswith('train seam (amp)  FAIL  ') and lines[3].endswith('boom')
    # every cell starts under its header
    col = lines[0].index('status')
    assert lines[2][col:col + 2] == 'ok' and lines[3][col:col + 4] == 'FAIL'


@pytest.mark.parametrize('name', sorted(gpu_check.CONFIGS))
def test_config_list_matches_the_configs_total_batch(name):
    config, total = gpu_check.CONFIGS[name]
    assert Config.fromfile(osp.join(ROOT, config)).total_batch_size == total
    cmd = gpu_check.train_command(name, '/data/VOC', '/w', 20)
    assert cmd[1:4] == ['-m', 'torch.distributed.run', '--nproc_per_node=1']
    assert cmd[5] == config and '--amp' in cmd and cmd[cmd.index('--launcher') + 1] == 'pytorch'
    opts = cmd[cmd.index('--cfg-options') + 1:]
    assert f'train_dataloader.dataset.datasets.1.ann_file=ImageSets/Segmentation/' \
        f'aug_{20 * total}.txt' in opts
    assert not any('batch_size' in o or 'crop' in o or 'pipeline' in o for o in opts)
    assert any(o.startswith('model.decode_head.fg_prior.file=') for o in opts) == \
        name.startswith('sbce')


LOG = """\
12/01 10:00:01 - mmengine - INFO - Epoch(train)  [1][ 1/20]  lr: 1.0e-02  eta: 0:01:00  \
time: 2.0000  data_time: 0.5  memory: 30000  grad_norm: 1.0  loss: 0.9000  decode.loss_gap: 0.6
12/01 10:00:02 - mmengine - INFO - Epoch(train)  [1][ 2/20]  lr: 1.0e-02  eta: 0:00:50  \
time: 1.0000  data_time: 0.1  memory: 31000  loss: 0.8000  decode.loss_gap: 0.5
12/01 10:00:03 - mmengine - INFO - Epoch(train)  [1][ 3/20]  lr: 1.0e-02  eta: 0:00:40  \
time: 0.5000  data_time: 0.1  memory: 31500  loss: 0.7000  decode.loss_gap: 0.4
12/01 10:00:04 - mmengine - INFO - Epoch(train)  [1][ 4/20]  lr: 1.0e-02  eta: 0:00:30  \
time: 0.2500  data_time: 0.1  memory: 31200  loss: nan  decode.loss_gap: nan
12/01 10:00:05 - mmengine - INFO - Saving checkpoint at 1 epochs
"""


def test_parse_train_log_and_row():
    log = gpu_check.parse_train_log(LOG)
    assert log['iters'] == 4 and log['memory'] == 31500
    assert log['iters_per_s'] == pytest.approx(1 / np.mean([0.5, 0.25]))  # after 2 warm-up
    assert log['losses'][:3] == [0.9, 0.8, 0.7] and np.isnan(log['losses'][3])
    row = gpu_check.train_row('seam', log, 4, 0)
    assert row['status'] == 'FAIL'  # a NaN loss
    good = dict(log, losses=[0.9, 0.8, 0.7, 0.6])
    row = gpu_check.train_row('seam', good, 4, 0)
    assert row['status'] == 'ok' and row['time'] == '2.67 it/s'
    assert row['peak memory'] == '31500 MiB' and row['notes'].startswith('loss 0.9000 -> 0.6000')
    assert gpu_check.train_row('seam', good, 20, 0)['status'] == 'FAIL'  # stopped early
    assert gpu_check.train_row('seam', good, 4, 1)['status'] == 'FAIL'


def test_make_voc_layout_and_missing_checkpoint(tmp_path):
    root = str(tmp_path / 'VOC2012')
    names = gpu_check.make_voc_layout(root, 8, 30, 40, splits=(4, 8))
    assert len(os.listdir(osp.join(root, 'JPEGImages'))) == 8
    split = osp.join(root, 'ImageSets/Segmentation')
    assert open(osp.join(split, 'aug_8.txt')).read().split() == names[4:]
    assert open(osp.join(split, 'train_4.txt')).read().split() == names[:2]
    labels = np.load(osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    assert labels[names[3]].argmax() == 3 and labels[names[3]].sum() == 1
    with pytest.raises(ValueError, match='16 images'):
        gpu_check.make_voc_layout(root, 8, splits=(16, ))
    row = gpu_check.run_pseudo_labels('seam', root, str(tmp_path), 10)
    assert row['status'] == 'FAIL' and 'no checkpoint' in row['notes']


def test_fsl_row_names_the_batch_and_the_speed_up():
    res = dict(value_diff=1e-8, grad_diff=2e-8, ours_time=0.01, ref_time=0.25,
               ours_memory=100.0, ref_memory=4000.0, time_ratio=0.04)
    row = gpu_check.fsl_row(112, res, batch=8)
    assert row['check'] == 'FSL 112x112 B=8' and row['status'] == 'ok'
    assert row['notes'] == 'ours / dense; dense / ours = 25.0x'
    assert row['time'] == '10.0 / 250.0 ms' and row['peak memory'] == '100 MiB / 4000 MiB'


def test_budget_skips_what_would_start_too_late():
    assert gpu_check.Budget(None).timeout(150) == 150
    assert gpu_check.Budget(60).timeout(150) is None  # under the 90 s a check needs
    assert gpu_check.Budget(1000).timeout(150) == 150
    assert 80 <= gpu_check.Budget(100).timeout(150) <= 90  # what is left, less 10 s to print
    assert gpu_check.skipped_row('train seam (amp)') == dict(
        check='train seam (amp)', status='skipped', notes='time budget spent (--budget)')


def test_pipeline_check_is_skipped_until_the_tool_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, 'PIPELINE_TOOL', str(tmp_path / 'run_pipeline.py'))
    row = gpu_check.run_pipeline('configs/pipelines/x.py', str(tmp_path), 10)
    assert row['status'] == 'skipped' and row['notes'].endswith('does not exist yet')
    tool = tmp_path / 'run_pipeline.py'
    tool.write_text('import sys\nassert sys.argv[1:] == ["configs/pipelines/x.py", "--work-dir", '
                    f'"{tmp_path}/pipeline", "--gpus", "1"], sys.argv\n'
                    'sys.exit(int(open(sys.argv[0] + ".rc").read()))\n')
    (tmp_path / 'run_pipeline.py.rc').write_text('0')
    row = gpu_check.run_pipeline('configs/pipelines/x.py', str(tmp_path), 60)
    assert row['check'] == 'pipeline x.py' and row['status'] == 'ok', row
    (tmp_path / 'run_pipeline.py.rc').write_text('3')
    assert gpu_check.run_pipeline('configs/pipelines/x.py', str(tmp_path), 60)['status'] == 'FAIL'


def test_bootstrap_rows_come_first_and_a_fatal_one_stops(tmp_path, capsys):
    import json
    rows = [dict(check='bootstrap: mmcv 2.1.0', status='FAIL', time='93 s',
                 notes='CPU ops: build failed', fatal=True)]
    (tmp_path / 'rows.json').write_text(json.dumps(rows))
    assert gpu_check.main(['--rows-from', str(tmp_path / 'rows.json'),
                           '--out', str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[2].startswith('bootstrap: mmcv 2.1.0  FAIL')
    assert lines[2].endswith('CPU ops: build failed')


def test_pseudo_label_check_uses_the_crf_when_it_imports(tmp_path):
    assert gpu_check.crf_available()  # the CPU venv has pydensecrf2
    with_crf = gpu_check.pseudo_label_command('seam_hfpl', '/d', '/w/c.pth', '/t', crf=True)
    assert with_crf[2:5] == ['configs/hfpl/seam_voc.py', '/w/c.pth', '--out']
    assert with_crf[with_crf.index('--crf') + 1] == '4'
    without = gpu_check.pseudo_label_command('seam_hfpl', '/d', '/w/c.pth', '/t', crf=False)
    assert '--crf' not in without and without == [a for a in with_crf if a not in ('--crf', '4')]
    assert 'train_dataloader.dataset.datasets.1.ann_file=ImageSets/Segmentation/aug_8.txt' \
        in without
    row = gpu_check.run_pseudo_labels('seam', str(tmp_path), str(tmp_path), 10, crf=False)
    assert row['status'] == 'FAIL' and 'no checkpoint' in row['notes']


def test_failed_run_reports_its_exception_line_and_keeps_its_output(tmp_path, monkeypatch):
    """The first GPU run's failures read 'k see: https://pytorch.org/docs/stable/elastic/...'
    (the tail of torchrun's summary): the row names the exception, the output is kept."""
    torchrun_tail = ('Traceback (most recent call last):\n  File "x.py", line 1\n'
                     'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB\n'
                     'torch.distributed.elastic.multiprocessing.errors.ChildFailedError: \n'
                     '====\ntools/train.py FAILED\n----\nTo enable traceback see: '
                     'https://pytorch.org/docs/stable/elastic/errors.html\n')
    assert gpu_check.error_line(torchrun_tail) == (
        'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 GiB')
    assert gpu_check.error_line('ValueError: bad crop\nmore text\n') == 'ValueError: bad crop'
    rank_lines = ('[rank0]: OverflowError: Python integer -8 out of bounds for uint8\n'
                  "[rank0]: RuntimeError: failed to load sample 21 (image 'a.jpg'): Python "
                  'integer -8 out of bounds for uint8\n[rank0]:[W1204 18:16:25] Warning: '
                  'destroy_process_group() was not called\n' + torchrun_tail.split('\n', 3)[3])
    assert gpu_check.error_line(rank_lines) == (  # the second GPU run's SEAM training
        "RuntimeError: failed to load sample 21 (image 'a.jpg'): Python integer -8 out of "
        'bounds for uint8')
    assert gpu_check.error_line('no exception here\nlast line\n') == 'last line'
    monkeypatch.setattr(gpu_check, 'ROOT', str(tmp_path))
    tool = tmp_path / 'run_pipeline.py'
    monkeypatch.setattr(gpu_check, 'PIPELINE_TOOL', str(tool))
    tool.write_text('import sys\nprint("stage 1")\nraise RuntimeError("stage 1/7 cam failed")\n')
    row = gpu_check.run_pipeline('configs/pipelines/x.py', str(tmp_path), 60)
    assert row['status'] == 'FAIL' and row['notes'] == 'RuntimeError: stage 1/7 cam failed'
    kept = (tmp_path / 'pipeline_output.log').read_text()
    assert 'stage 1\n' in kept and 'RuntimeError: stage 1/7 cam failed' in kept


def test_pipeline_check_makes_the_embedded_dataset_first(tmp_path, monkeypatch):
    """data/ is not carried to the GPU machine: a synthetic pipeline makes its data first, as
    the README's pipeline block does, and leaves an existing folder alone."""
    monkeypatch.setattr(gpu_check, 'ROOT', str(tmp_path))
    calls = tmp_path / 'calls.txt'
    monkeypatch.setattr(gpu_check, 'PIPELINE_TOOL', str(tmp_path / 'run_pipeline.py'))
    (tmp_path / 'run_pipeline.py').write_text(
        f'import sys\nopen({str(calls)!r}, "a").write("pipeline\\n")\n')
    tools = tmp_path / 'tools'
    tools.mkdir()
    (tools / 'make_synthetic_dataset.py').write_text(
        f'import os, sys\nos.makedirs(sys.argv[1])\nopen({str(calls)!r}, "a").write('
        f'"make " + sys.argv[1] + "\\n")\n')
    row = gpu_check.run_pipeline('configs/pipelines/hfpl_seam_synthetic.py', str(tmp_path), 60)
    assert row['status'] == 'ok', row
    assert calls.read_text() == 'make data/synthetic_voc\npipeline\n'
    gpu_check.run_pipeline('configs/pipelines/hfpl_seam_synthetic.py', str(tmp_path), 60)
    assert calls.read_text() == 'make data/synthetic_voc\npipeline\npipeline\n'
