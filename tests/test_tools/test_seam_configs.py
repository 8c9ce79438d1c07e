"""The SEAM configs through the real tools: the full-size VOC configs run a training iteration
on a tiny VOC-layout dataset, the CPU-sized twins go train -> pseudo-labels -> J / F."""
import json
import os.path as osp
import subprocess
import sys

import pytest

from ..utils import output_files, short_training_options, train_log, twin_options

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(args, timeout=900):
    res = subprocess.run([sys.executable] + args, cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    return res.stdout + res.stderr


def small_voc_options(root):
    opts = [f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False', 'model.backbone.init_cfg=None',
            'model.data_preprocessor.size=(64,64)', 'train_cfg.max_epochs=1',
            'default_hooks.checkpoint=None', 'default_hooks.logger.interval=1']
    for i in (0, 1):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}', f'{d}.pipeline.1.min_size=64',
                 f'{d}.pipeline.1.max_size=80', f'{d}.pipeline.4.crop_size=(64,64)']
    return opts


@pytest.mark.parametrize('config,extra', [
    ('configs/seam/seam_r38_voc.py', ()),
    ('configs/hfpl/seam_voc.py', ('decode.loss_isl', 'decode.loss_fsl')),
])
def test_full_size_voc_config_trains_an_iteration(tiny_voc, tmp_path, config, extra):
    run(['tools/train.py', config, '--work-dir', str(tmp_path), '--cfg-options',
         *small_voc_options(tiny_voc)])
    log, lines = train_log(tmp_path)
    line = lines[-1]
    for name in ('decode.loss_gap', 'decode.loss_rvmin', 'decode.loss_er', 'decode.loss_ecr',
                 *extra):
        assert f'{name}: ' in line, line
    if not extra:
        assert 'loss_isl' not in line and 'loss_fsl' not in line
    # the full ResNet-38 (4096-channel conv6) and SEAM's 21-channel fc8 were built
    assert 'decode_head.conv_seg.weight - torch.Size([21, 4096, 1, 1])' in log


@pytest.mark.parametrize('config,alphas', [
    ('configs/seam/seam_r38tiny_synthetic.py', (4, 24)),
    ('configs/hfpl/seam_synthetic.py', (1, 24)),
])
def test_cpu_twin_trains_and_scores_pseudo_labels(synthetic_root, tmp_path, config, alphas):
    opts = twin_options(synthetic_root, extra=[
        'model.backbone.base_channels=8', 'model.decode_head.in_channels=(64,128,512)',
        'model.decode_head.channels=512'])
    train_opts = opts + short_training_options(4)
    work = tmp_path / 'work'
    log = run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *train_opts])
    assert 'J&F: ' in log  # validation scored the PCM-refined CAM labels
    out = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', config, str(work / 'iter_4.pth'), '--out', str(out),
         '--scales', '1.0', '--cfg-options', *opts])
    metrics = json.load(open(out / 'metrics.json'))
    # the CRF alphas and the AffinityNet labels come from the config's pseudo_label_cfg
    assert {'cam', f'crf_a{alphas[0]:g}', f'crf_a{alphas[1]:g}'} <= set(metrics)
    scores = [res[k] for res in metrics.values() for k in ('J', 'F', 'J&F') if k in res]
    assert len(scores) >= 9 and all(0 <= v <= 100 for v in scores)
    assert len(output_files(out / 'aff_label')) == 16
    assert len(output_files(out / f'crf_a{alphas[0]:g}')) == 16
