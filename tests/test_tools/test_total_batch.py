"""The configs' total batch (``total_batch_size``) over any number of processes, and SyncBN on
CPU: the helpers of ``mmseg_hfpl/engine/dist.py`` and ``tools/train.py`` on 1 and 2 gloo ranks."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmseg_hfpl.engine.dist import (launcher_world_size, per_process_batch_size,
                                    set_train_batch_size, sync_bn_to_bn)

from ..utils import free_port, retry_on_rank_abort, train_log
from .test_seam_configs import ROOT, run

# the official batch of each recipe (one process, DataParallel): SEAM / hfpl train_SEAM.py 8,
# SIPE 16, PMM 24, MCTformer run.sh --batch-size 64 (no torchrun), Spatial-BCE train.py 12
OFFICIAL_TOTAL = {
    'configs/seam/seam_r38_voc.py': 8,
    'configs/hfpl/seam_voc.py': 8,
    'configs/seam/seam_r38_coco.py': 8,
    'configs/hfpl/seam_coco.py': 8,
    'configs/sipe/sipe_r50_voc.py': 16,
    'configs/hfpl/sipe_voc.py': 16,
    'configs/pmm/pmm-a_r38_voc.py': 24,
    'configs/hfpl/pmm_voc.py': 24,
    'configs/mctformer/mctformer-v2_deit-s_voc.py': 64,
    'configs/hfpl/mctformer_voc.py': 64,
    'configs/spatial_bce/spatial-bce_r38_voc.py': 12,
    'configs/hfpl/spatial_bce_voc.py': 12,
    'configs/hfpl/spatial_bce_voc_isl.py': 12,
    'configs/hfpl/spatial_bce_voc_fsl.py': 12,
}


@pytest.mark.parametrize('config,total', sorted(OFFICIAL_TOTAL.items()))
def test_full_size_cam_configs_state_the_official_total_batch(config, total):
    cfg = Config.fromfile(osp.join(ROOT, config))
    assert cfg.total_batch_size == total
    assert cfg.train_dataloader.batch_size == total  # what a plain single-process run uses
    assert per_process_batch_size(total, 2) * 2 == total


def test_per_process_batch_refuses_an_uneven_split():
    assert [per_process_batch_size(24, n) for n in (1, 2, 3, 4, 8)] == [24, 12, 8, 6, 3]
    with pytest.raises(ValueError, match=r'total_batch_size=8 does not split over 3 processes'
                       r'.*\[1, 2, 4, 8\]'):
        per_process_batch_size(8, 3)
    with pytest.raises(ValueError, match='positive integer'):
        per_process_batch_size(0, 1)


def test_set_train_batch_size_sources():
    cfg = Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=8)))
    per, total, msg = set_train_batch_size(cfg, 4)
    assert (per, total, cfg.train_dataloader.batch_size) == (2, 8, 2)
    assert msg == ("effective total batch size 8 = 4 process(es) x 2 (the config's "
                   'total_batch_size)')
    cfg = Config(dict(total_batch_size=8, train_dataloader=dict(batch_size=3)))
    per, total, msg = set_train_batch_size(cfg, 2, explicit_per_process=True)
    assert (per, total) == (3, 6) and 'not the config\'s total_batch_size=8' in msg
    cfg = Config(dict(train_dataloader=dict(batch_size=5)))  # mmseg's per-process meaning
    per, total, msg = set_train_batch_size(cfg, 2)
    assert (per, total) == (5, 10) and 'no total_batch_size' in msg


def test_launcher_world_size(monkeypatch):
    assert launcher_world_size('none') == 1
    monkeypatch.setenv('WORLD_SIZE', '4')
    assert launcher_world_size('pytorch') == 4
    monkeypatch.setenv('SLURM_NTASKS', '8')
    assert launcher_world_size('slurm') == 8
    monkeypatch.delenv('OMPI_COMM_WORLD_SIZE', raising=False)
    with pytest.raises(RuntimeError, match='OMPI_COMM_WORLD_SIZE'):
        launcher_world_size('mpi')


def test_sync_bn_to_bn_replaces_every_syncbn_config():
    cfg = Config(dict(model=dict(
        backbone=dict(norm_cfg=dict(type='SyncBN', requires_grad=True)),
        decode_head=dict(norm_cfg=dict(type='SyncBN'), loss_decode=[dict(type='CE')]),
        auxiliary_head=[dict(norm_cfg=dict(type='SyncBN')), dict(norm_cfg=dict(type='GN'))])))
    assert sync_bn_to_bn(cfg.model) == 3
    assert cfg.model.backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert cfg.model.decode_head.norm_cfg.type == 'BN'
    assert [h.norm_cfg.type for h in cfg.model.auxiliary_head] == ['BN', 'GN']
    assert sync_bn_to_bn(cfg.model) == 0


def tiny_seam_options(root):
    opts = [f'{k}.dataset.data_root={root}' for k in ('val_dataloader', 'test_dataloader')]
    # the recipe narrowed for CPU: ResNet-38 at 1/8 width (conv6 512), 40-pixel crops
    opts += ['model.backbone.base_channels=8', 'model.decode_head.in_channels=(64,128,512)',
             'model.decode_head.channels=512',
             'model.backbone.init_cfg=None', 'model.data_preprocessor.size=(48,48)',
             'train_cfg.max_epochs=1', 'default_hooks.checkpoint=None',
             'default_hooks.logger.interval=1', 'train_cfg.val_interval=100',
             # SyncBN as a stage-3 config has it: tools/train.py builds it as BN without CUDA
             'model.backbone.norm_cfg.type=SyncBN']
    for k in ('train_dataloader', 'val_dataloader'):
        opts += [f'{k}.num_workers=0', f'{k}.persistent_workers=False']
    for i, part in enumerate(('train', 'aug')):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}', f'{d}.ann_file=ImageSets/Segmentation/{part}_8.txt',
                 f'{d}.pipeline.1.min_size=48', f'{d}.pipeline.1.max_size=56',
                 f'{d}.pipeline.4.crop_size=(40,40)']
    return opts


@pytest.fixture(scope='module')
def voc8(tmp_path_factory):
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    from gpu_check import make_voc_layout
    root = str(tmp_path_factory.mktemp('voc8') / 'VOC2012')
    make_voc_layout(root, 8, 40, 48, splits=(8, ))
    return root


def test_seam_voc_recipe_has_the_same_total_batch_on_one_and_two_ranks(voc8, tmp_path):
    """hfpl's SEAM recipe (total batch 8): one iteration of 8 images on one process, and of
    2 x 4 under tools/dist_train.sh (gloo), with SyncBN built as BN on both."""
    import subprocess
    config = 'configs/hfpl/seam_voc.py'
    one = tmp_path / 'one'
    run(['tools/train.py', config, '--work-dir', str(one), '--cfg-options',
         *tiny_seam_options(voc8)])
    two = tmp_path / 'two'

    def once(attempt):
        env = dict(__import__('os').environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
                   PORT=free_port())
        return subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(two),
                               '--cfg-options', *tiny_seam_options(voc8)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)

    res = retry_on_rank_abort(once)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    for work, line in ((one, '8 = 1 process(es) x 8'), (two, '8 = 2 process(es) x 4')):
        log, lines = train_log(work)
        assert f'effective total batch size {line} (the config\'s total_batch_size)' in log
        assert 'no CUDA: 1 SyncBN layer config(s) built as BN' in log
        assert len(lines) == 1 and 'loss: ' in lines[0]  # one iteration of the recipe's batch
