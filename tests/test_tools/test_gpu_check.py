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
