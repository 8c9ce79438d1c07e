"""The Spatial-BCE configs through the real tools: the full-size VOC configs train on the tiny
VOC layout (the baseline through both parts of the network / threshold cycle, epoch-based loop);
the CPU twin runs phase 1 -> pseudo-labels (J / F, CRF labels, IRN labels) -> phase 2 from those
CRF labels; every config carries the paper's thresholds."""
import json
import os

import numpy as np
import pytest

from ..utils import output_files, short_training_options, train_log, twin_options
from .test_seam_configs import run, small_voc_options


@pytest.mark.parametrize('config,extra,epochs', [
    ('configs/spatial_bce/spatial-bce_r38_voc.py', (), 2),
    ('configs/hfpl/spatial_bce_voc.py', ('decode.loss_isl', 'decode.loss_fsl'), 1),
])
def test_full_size_voc_config_trains_the_cycle(tiny_voc, tmp_path,
                                               config, extra, epochs):
    # the official phase-1 prior format: image name -> 20 foreground ratios
    prior = tmp_path / 'voc12_init.npy'
    ratios = np.zeros(20)
    ratios[[6, 14]] = 0.25
    np.save(prior, {'2007_000001': ratios, '2008_000002': ratios})
    opts = [o for o in small_voc_options(tiny_voc) if '.pipeline.' not in o]
    opts = [o.replace('max_epochs=1', f'max_epochs={epochs}') for o in opts]
    for i in (0, 1):
        opts.append(f'train_dataloader.dataset.datasets.{i}.pipeline.1.scale=(64,64)')
    # one iteration per epoch: a 2-iteration cycle puts epoch 1 in the network part and
    # epoch 2 in the threshold part (the hfpl config runs epoch 1 only, to save time)
    opts += [f'model.decode_head.fg_prior.file={prior}', 'model.decode_head.cycle=2',
             'model.init_checkpoint=None',
             'model.decode_head.network_iters=1']
    work = tmp_path / 'work'
    run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *opts])
    log, lines = train_log(work)
    assert len(lines) == epochs, lines
    for line, phase in zip(lines, ('0.0000', '1.0000')):
        for name in ('decode.loss_sbce', 'decode.loss_kl', *extra):
            assert f'{name}: ' in line, line
        assert f'decode.threshold_phase: {phase}' in line, line
    if not extra:
        assert 'loss_isl' not in log and 'loss_fsl' not in log
    # the full ResNet-38 conv6 (4096 channels) feeds the 128-channel mask layer, 20 class heads
    assert 'decode_head.mask_layer_downsample.weight - torch.Size([128, 4096, 1, 1])' in log
    assert 'decode_head.fc_list.19.weight - torch.Size([1, 128, 1, 1])' in log
    assert 'decode_head.threshold.weight - torch.Size([20, 4096, 1, 1])' in log


def train_opts(iters):
    return short_training_options(iters) + ['model.decode_head.cycle=4',
                                            'model.decode_head.network_iters=3']


def test_cpu_twin_runs_two_phases_with_pseudo_labels(synthetic_root, tmp_path):
    config = 'configs/spatial_bce/spatial-bce_r38tiny_synthetic.py'
    opts = twin_options(synthetic_root, crop=False, extra=[
        'model.backbone.base_channels=8', 'model.decode_head.in_channels=512'])
    p1 = tmp_path / 'p1'
    out = run(['tools/train.py', config, '--work-dir', str(p1), '--cfg-options', *opts,
               *train_opts(4)])
    assert 'J&F: ' in out  # validation scored the pseudo-labels of SpatialBCESegmentor.predict
    _, lines = train_log(p1)  # the iteration-based loop: iterations 0-2 network, 3 threshold
    phases = [ln.split('decode.threshold_phase: ')[1][:6] for ln in lines]
    assert phases == ['0.0000', '0.0000', '0.0000', '1.0000'], phases
    pl = tmp_path / 'p1_pl'
    run(['tools/make_pseudo_labels.py', config, str(p1 / 'iter_4.pth'), '--out', str(pl),
         '--scales', '1.0', '--label-crf', '--cfg-options', *opts])
    metrics = json.load(open(pl / 'metrics.json'))
    assert {'cam', 'crf_label'} <= set(metrics)
    for key in ('cam', 'crf_label'):  # the scores of both label sets
        assert 0 <= metrics[key]['J'] <= 100 and 0 <= metrics[key]['F'] <= 100
    manifest = json.load(open(pl / 'cams' / 'manifest.json'))
    assert manifest['bg_threshold'] == pytest.approx(0.30)  # model test_cfg
    assert len(output_files(pl / 'ir_label')) == 16  # pseudo_label_cfg ir_labels (0.60, 0.25)
    # phase 2: phase 1's weights, prior = class shares of phase 1's CRF labels (no default:
    # an image without a CRF label would stop the run)
    p2 = tmp_path / 'p2'
    run(['tools/train.py', config, '--work-dir', str(p2), '--cfg-options', *opts,
         *train_opts(1), f'load_from={p1 / "iter_4.pth"}', 'model.decode_head.fg_prior.file=None',
         'model.decode_head.fg_prior.default=None',
         f'model.decode_head.fg_prior.label_dir={pl / "crf_label"}'])
    log, lines = train_log(p2)
    assert 'Load checkpoint from' in log and len(lines) == 1


def test_hfpl_cpu_twin_trains_and_scores_pseudo_labels(synthetic_root, tmp_path):
    config = 'configs/hfpl/spatial_bce_synthetic.py'
    opts = twin_options(synthetic_root, crop=False, extra=[
        'model.backbone.base_channels=8', 'model.decode_head.in_channels=512'])
    work = tmp_path / 'work'
    out = run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *opts,
               *train_opts(4)])
    assert 'J&F: ' in out
    _, lines = train_log(work)
    for name in ('decode.loss_sbce', 'decode.loss_kl', 'decode.loss_isl', 'decode.loss_fsl'):
        assert all(f'{name}: ' in ln for ln in lines), lines
    pl = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', config, str(work / 'iter_4.pth'), '--out', str(pl),
         '--scales', '1.0', '--cfg-options', *opts])
    metrics = json.load(open(pl / 'metrics.json'))
    assert 0 <= metrics['cam']['J'] <= 100 and 0 <= metrics['cam']['F'] <= 100
    manifest = json.load(open(pl / 'cams' / 'manifest.json'))
    assert manifest['bg_threshold'] == pytest.approx(0.40)  # with FSL (hfpl Sec. 5.1)


@pytest.mark.parametrize('config,threshold,isl,fsl', [
    ('configs/spatial_bce/spatial-bce_r38_voc.py', 0.30, False, False),
    ('configs/hfpl/spatial_bce_voc.py', 0.40, True, True),
    ('configs/hfpl/spatial_bce_voc_isl.py', 0.30, True, False),
    ('configs/hfpl/spatial_bce_voc_fsl.py', 0.40, False, True),
    ('configs/spatial_bce/spatial-bce_r38tiny_synthetic.py', 0.30, False, False),
    ('configs/hfpl/spatial_bce_synthetic.py', 0.40, True, True),
])
def test_semantic_and_irn_thresholds_of_the_configs(config, threshold, isl, fsl):
    """hfpl Sec. 5.1: IRN fg 0.60 / bg 0.25; semantic threshold 0.30 with ISL, 0.40 with FSL."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    bg = cfg.pseudo_label_cfg.get('bg_threshold', cfg.model.test_cfg.bg_threshold)
    assert bg == pytest.approx(threshold) and cfg.model.test_cfg.bg_threshold == bg
    assert tuple(cfg.pseudo_label_cfg.ir_labels) == (0.60, 0.25)
    add_on = cfg.model.decode_head.get('add_on') or {}
    assert bool(add_on.get('isl')) == isl and bool(add_on.get('fsl')) == fsl
    if isl:
        assert add_on.isl.lam == 0.2 and add_on.isl.posterior == 'binomial'
    if fsl:
        assert add_on.fsl.weight == 1.0 and add_on.fsl.gating == 'max_norm'


def ddp_twin_options(root):
    """The CPU twin at 64x64 on the embedded data for the DDP tests: total batch 4, the cycle
    (3, 2) (iterations 0-1 network, 2 threshold), and no randomness or per-process statistics
    that one process does not share: no flip, no dropout (masks drawn per process), BN in eval
    mode (batch statistics are per process without SyncBN)."""
    opts = [o for o in twin_options(root, crop=False, extra=[
        'model.backbone.base_channels=8', 'model.decode_head.in_channels=512',
        'model.backbone.norm_eval=True', 'model.backbone.dropouts=(0.0,0.0)',
        'train_dataloader.dataset.pipeline.2.prob=0.0',
        'model.decode_head.cycle=3', 'model.decode_head.network_iters=2', 'randomness.seed=0',
        'total_batch_size=4', 'train_cfg.val_interval=100', 'default_hooks.checkpoint=None'])
        if not o.startswith('train_dataloader.batch_size')]
    return opts + ['train_cfg.max_iters=3', 'param_scheduler.0.end=3',
                   'default_hooks.logger.interval=1']


def test_cpu_twin_trains_under_dist_train_with_the_losses_of_one_process(synthetic_root,
                                                                        tmp_path):
    """Both parts of the cycle under 2 gloo ranks (before the zero-weighted threshold term DDP
    stopped at iteration 2: "Expected to have finished reduction in the prior iteration"), at
    the losses of one process training the same total batch of 4."""
    import subprocess

    from ..utils import free_port, retry_on_rank_abort
    from .test_distributed_configs import ROOT, launch_driver
    config = 'configs/spatial_bce/spatial-bce_r38tiny_synthetic.py'
    work = tmp_path / 'dist'

    def once(attempt):
        env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PORT=free_port())
        return subprocess.run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work),
                               '--cfg-options', *ddp_twin_options(synthetic_root)], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)

    res = retry_on_rank_abort(once)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    log, lines = train_log(work)
    assert "effective total batch size 4 = 2 process(es) x 2 (the config's total_batch_size)" \
        in log
    phases = [ln.split('decode.threshold_phase: ')[1][:6] for ln in lines]
    assert phases == ['0.0000', '0.0000', '1.0000'], phases

    # per-rank losses through the driver: the mean over the 2 ranks = the loss of 1 process,
    # iteration by iteration (the same 4 images: rank r takes the sampler's r-th of every 2)
    spec = [dict(name='twin', config=config, cfg_options=ddp_twin_options(synthetic_root))]
    results = {}
    for nproc in (1, 2):
        out = tmp_path / f'driver{nproc}'
        out.mkdir()
        results[nproc] = launch_driver(spec, str(out), nproc=nproc)['twin']
    for rec in results[1] + results[2]:
        assert rec['error'] is None, rec.get('traceback')
        assert rec['total_batch'] == 4 and [it['iter'] for it in rec['iters']] == [0, 1, 2]
    assert results[2][0]['max_param_diff_to_rank0'] == 0.0
    single = [it['losses'] for it in results[1][0]['iters']]
    for it, ref in enumerate(single):
        ranks = [rec['iters'][it]['losses'] for rec in results[2]]
        for name, value in ref.items():
            # every term, the count-normalised KL and threshold loss too (their counts are the
            # total batch's under DDP): measured within 3e-7
            mean = sum(r[name] for r in ranks) / 2
            assert mean == pytest.approx(value, rel=1e-5), (it, name, mean, value)
