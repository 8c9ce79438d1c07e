import json

import numpy as np
import pytest

from ..utils import output_files, short_training_options, train_log, twin_options
from .test_seam_configs import run


def sipe_voc_options(root):
    opts = [f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False', 'model.backbone.init_cfg=None',
            'model.data_preprocessor.size=(64,64)', 'train_cfg.max_epochs=1',
            'default_hooks.checkpoint=None', 'default_hooks.logger.interval=1']
    for i in (0, 1):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}', f'{d}.pipeline.1.min_size=64',
                 f'{d}.pipeline.1.max_size=80', f'{d}.pipeline.3.crop_size=(64,64)']
    return opts


@pytest.mark.parametrize('config,extra', [
    ('configs/sipe/sipe_r50_voc.py', ()),
    ('configs/hfpl/sipe_voc.py', ('decode.loss_isl', 'decode.loss_fsl')),
])
def test_full_size_sipe_config_trains_an_iteration(tiny_voc, tmp_path, config, extra):
    run(['tools/train.py', config, '--work-dir', str(tmp_path), '--cfg-options',
         *sipe_voc_options(tiny_voc)])
    log, lines = train_log(tmp_path)
    line = lines[-1]
    for name in ('decode.loss_gap', 'decode.loss_gsc', 'grad_norm', *extra):
        assert f'{name}: ' in line, line
    if not extra:
        assert 'loss_isl' not in line and 'loss_fsl' not in line
    # ResNet-50's last stage, the 20-class bias-free classifier and the widest side conv
    assert 'decode_head.conv_seg.weight - torch.Size([20, 2048, 1, 1])' in log
    assert 'decode_head.sides.3.weight - torch.Size([256, 2048, 1, 1])' in log


@pytest.mark.parametrize('config', ['configs/sipe/sipe_r18tiny_synthetic.py',
                                    'configs/hfpl/sipe_synthetic.py'])
def test_sipe_twin_trains_and_scores_pseudo_labels(synthetic_root, tmp_path, config):
    opts = twin_options(synthetic_root)
    train_opts = opts + short_training_options(4)
    work = tmp_path / 'work'
    log = run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *train_opts])
    assert 'decode.loss_gsc: ' in log and 'J&F: ' in log
    if 'hfpl' in config:
        assert 'decode.loss_isl: ' in log and 'decode.loss_fsl: ' in log
    out = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', config, str(work / 'iter_4.pth'), '--out', str(out),
         '--scales', '1.0', '--cfg-options', *opts])
    metrics = json.load(open(out / 'metrics.json'))
    # label CRF and IRN relation labels come from the config's pseudo_label_cfg
    assert {'cam', 'crf_label'} <= set(metrics)
    scores = [res[k] for res in metrics.values() for k in ('J', 'F', 'J&F') if k in res]
    assert len(scores) >= 6 and all(0 <= v <= 100 for v in scores)
    assert len(output_files(out / 'ir_label')) == 16
    npz = sorted(f for f in output_files(out / 'cams') if f.endswith('.npz'))
    assert len(npz) == 16
    with np.load(out / 'cams' / npz[0]) as cams:
        assert cams['classes'][0] == 0  # SIPE's own background map is stored as class 0
