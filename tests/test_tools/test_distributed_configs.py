"""Every full-size config (CAM ± add-on, AffinityNet, IRN, stage 3) trains under 2-rank gloo DDP
and under bf16 autocast.

One ``torchrun --nproc_per_node=2`` launch of ``dist_driver.py`` (one process group for the
whole module) trains each full-size config two iterations in fp32 and, where the add-on changes
the step or no add-on twin exists (``BF16``), two under
``torch.autocast('cpu', dtype=torch.bfloat16)``, on a tiny VOC layout made here, with the
config's model, losses, hooks and pipeline (only image sizes, data paths and loader workers
narrowed, and the ResNet widths, see ``R38``; SyncBN built as BN by ``tools/train.py``'s
``prepare_device``). Per run it asserts: finite losses, every
trainable parameter received a gradient at every step on every rank (or is listed in
``KNOWN_UNUSED`` with the reason), equal parameters on both ranks after training, and the
effective total batch = the config's ``total_batch_size`` (``batch_size`` per process for the
configs without one). Marked ``distributed`` (the slowest
group of the suite: ``-m 'not distributed'`` skips it).

Spatial-BCE runs the network and the threshold iteration (cycle 2): before the fix in
``SpatialBCEHead`` the unused threshold head stopped DDP at the second iteration ("Expected to
have finished reduction in the prior iteration").
"""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from ..utils import free_port, retry_on_rank_abort

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from gpu_check import make_voc_layout  # noqa: E402  tools/gpu_check.py
DRIVER = osp.join(ROOT, 'tests', 'test_tools', 'dist_driver.py')
WORLD = 2
NUM_IMAGES = 128  # twice the largest total batch (MCTformer's 64): two iterations per epoch

pytestmark = pytest.mark.distributed


def voc_options(root: str, images: int, pipeline: dict, epochs: bool = True) -> dict:
    """``--cfg-options`` of a full-size VOC config on the layout above: the split of ``images``
    training images (2 x the total batch for the epoch-based CAM configs: two iterations),
    ``pipeline`` = {index: {key: value}} narrowing the image sizes of both training datasets,
    no loader workers, no checkpoint, no validation."""
    opts = {'model.backbone.init_cfg': None, 'model.data_preprocessor.size': (48, 48),
            'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None,
            'default_hooks.checkpoint': None, 'default_hooks.logger.interval': 1,
            'test_dataloader.dataset.data_root': root}
    if epochs:
        opts['train_cfg.max_epochs'] = 1
    for k in ('train_dataloader', 'test_dataloader'):
        opts.update({f'{k}.num_workers': 0, f'{k}.persistent_workers': False})
    for i, split in enumerate(('train', 'aug')):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts[f'{d}.data_root'] = root
        opts[f'{d}.ann_file'] = f'ImageSets/Segmentation/{split}_{images}.txt'
        for index, values in pipeline.items():
            opts.update({f'{d}.pipeline.{index}.{k}': v for k, v in values.items()})
    return opts


def coco_options(root: str, pipeline: dict, labels: str) -> dict:
    """``--cfg-options`` of a COCO config on the layout above: the first 8 images
    (``train_16.txt``) with 80-d labels, ``labels`` as the training masks, ``pipeline`` narrowing
    the image sizes (as :func:`voc_options`)."""
    opts = {k: v for k, v in voc_options(root, 16, {}, epochs=False).items()
            if not k.startswith('train_dataloader.dataset.datasets')}
    d = 'train_dataloader.dataset'
    opts.update({f'{d}.data_root': root, f'{d}.ann_file': 'ImageSets/Segmentation/train_16.txt',
                 f'{d}.cls_label_file': 'cls_labels_coco.npy',
                 f'{d}.data_prefix.seg_map_path': labels})
    for index, values in pipeline.items():
        opts.update({f'{d}.pipeline.{index}.{k}': v for k, v in values.items()})
    return opts


def write_coco_labels(root: str) -> None:
    """``cls_labels_coco.npy``: the VOC labels of the layout as 80-d COCO vectors."""
    import numpy as np
    voc = np.load(osp.join(root, 'cls_labels.npy'), allow_pickle=True).item()
    np.save(osp.join(root, 'cls_labels_coco.npy'),
            {name: np.pad(vec, (0, 60)) for name, vec in voc.items()})


def write_affinity_crf(root: str, names) -> None:
    """``aff_crf/<name>.npz`` (float16 ``low`` / ``high`` CRF marginals, background first) of
    each image's mask, as ``make_pseudo_labels.py --affinity-labels`` writes them."""
    import cv2
    import numpy as np
    os.makedirs(osp.join(root, 'aff_crf'))
    for name in names:
        fg = (cv2.imread(osp.join(root, 'SegmentationClassAug', f'{name}.png'), 0) > 0)
        for_bg = np.stack([1 - fg, fg]).astype(np.float16)
        np.savez(osp.join(root, 'aff_crf', f'{name}.npz'), low=0.2 + 0.6 * for_bg,
                 high=0.1 + 0.8 * for_bg)


SEAM_PIPE = {1: dict(min_size=56, max_size=64), 4: dict(crop_size=(48, 48))}
SIPE_PIPE = {1: dict(min_size=56, max_size=64), 3: dict(crop_size=(48, 48))}
MCT_PIPE = {1: dict(scale=48)}
SBCE_PIPE = {1: dict(scale=(48, 48))}
SBCE_CYCLE = {'model.decode_head.cycle': 2, 'model.decode_head.network_iters': 1}
# the full-width ResNet-38 (conv6 4096) and ResNet-50 take ~15 s per iteration of 4 images per
# core here: narrowed (ResNet-38 base 8 -> conv6 512; ResNet-50 base 16 -> 512), the layers,
# heads, losses and hooks otherwise those of the config; DeiT-S keeps its full width
R38 = {'model.backbone.base_channels': 8}
SEAM_NARROW = dict(R38, **{'model.decode_head.in_channels': (64, 128, 512),
                           'model.decode_head.channels': 512})
SBCE = dict(R38, **SBCE_CYCLE, **{'model.decode_head.in_channels': 512,
                                   'model.init_checkpoint': None})
SIPE_NARROW = {'model.backbone.base_channels': 16,
               'model.decode_head.in_channels': (64, 128, 256, 512),
               'model.decode_head.channels': 512}
# name: (config, total batch, pipeline narrowing, extra options)
CONFIGS = {
    'seam': ('configs/seam/seam_r38_voc.py', 8, SEAM_PIPE, SEAM_NARROW),
    'seam_hfpl': ('configs/hfpl/seam_voc.py', 8, SEAM_PIPE, SEAM_NARROW),
    'sipe': ('configs/sipe/sipe_r50_voc.py', 16, SIPE_PIPE, SIPE_NARROW),
    'sipe_hfpl': ('configs/hfpl/sipe_voc.py', 16, SIPE_PIPE, SIPE_NARROW),
    'pmm': ('configs/pmm/pmm-a_r38_voc.py', 24, SEAM_PIPE, SEAM_NARROW),
    'pmm_hfpl': ('configs/hfpl/pmm_voc.py', 24, SEAM_PIPE, SEAM_NARROW),
    'mctformer': ('configs/mctformer/mctformer-v2_deit-s_voc.py', 64, MCT_PIPE,
                  {'optim_wrapper.type': 'OptimWrapper'}),
    'mctformer_hfpl': ('configs/hfpl/mctformer_voc.py', 64, MCT_PIPE,
                       {'optim_wrapper.type': 'OptimWrapper'}),
    'sbce': ('configs/spatial_bce/spatial-bce_r38_voc.py', 12, SBCE_PIPE, SBCE),
    'sbce_hfpl': ('configs/hfpl/spatial_bce_voc.py', 12, SBCE_PIPE, SBCE),
    'sbce_isl': ('configs/hfpl/spatial_bce_voc_isl.py', 12, SBCE_PIPE, SBCE),
    'sbce_fsl': ('configs/hfpl/spatial_bce_voc_fsl.py', 12, SBCE_PIPE, SBCE),
}
# refinement and stage-3 configs (iteration-based, per-process batch: no total_batch_size):
# 2 iterations of the config's batch per process on the masks (SegmentationClassAug) as
# pseudo-labels, AffinityNet on CRF marginals made from them (aff_crf/*.npz)
ITERS = {'train_cfg.max_iters': 2, 'param_scheduler.0.end': 2}
R50 = {'model.backbone.base_channels': 16}  # ResNet-50 / 101 stages (64, 128, 256, 512)
MMSEG_PIPE = {2: dict(scale=(64, 48)), 3: dict(crop_size=(48, 48)), 6: dict(size=(48, 48))}
MMSEG_R101 = dict(ITERS, **R50, **{'model.pretrained': None,
                                   'model.decode_head.in_channels': 512,
                                   'model.auxiliary_head.in_channels': 256})
AFF = {'model.in_channels': (64, 128, 512), 'model.data_preprocessor.size': (96, 96)}
REFINE_STAGE3 = {
    # 96-pixel crops: a 12 x 12 feature grid, enough for pairs of radius 5 away from the border
    'affinity_r38': ('configs/affinity/affinitynet_r38_voc12aug.py', 8,
                     {2: dict(crop_size=96)}, dict(ITERS, **R38, **AFF), 'aff_crf'),
    'affinity_r38_mctformer': ('configs/affinity/affinitynet_r38_voc12aug-mctformer.py', 8,
                               {2: dict(crop_size=96)}, dict(ITERS, **R38, **AFF), 'aff_crf'),
    'affinity_r50': ('configs/affinity/affinitynet_r50-d8_voc12aug.py', 8,
                     {2: dict(crop_size=96)},
                     {**ITERS, **R50, **AFF, 'model.in_channels': (128, 256, 512)}, 'aff_crf'),
    'irn': ('configs/irn/irn_r50_voc12aug.py', 32,
            {2: dict(ratio_range=(0.5, 0.7)), 4: dict(crop_size=(48, 48))},
            dict(ITERS, **R50, **{'model.in_channels': (64, 128, 256, 512)}),
            'SegmentationClassAug'),
    'deeplabv1_r38': ('configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py', 10,
                      {4: dict(scale=(64, 48)), 5: dict(crop_size=(48, 48))},
                      dict(ITERS, **R38, **{'model.decode_head.in_channels': 512}),
                      'SegmentationClassAug'),
    'deeplabv3_r101': ('configs/stage3/deeplabv3_r101-d8_voc12aug-pseudo.py', 4, MMSEG_PIPE,
                       MMSEG_R101, 'SegmentationClassAug'),
    'deeplabv3plus_r101': ('configs/stage3/deeplabv3plus_r101-d8_voc12aug-pseudo.py', 4,
                           MMSEG_PIPE, dict(MMSEG_R101, **{'model.decode_head.c1_in_channels': 64}),
                           'SegmentationClassAug'),
    'pspnet_pmm_r101': ('configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py', 4, MMSEG_PIPE,
                        MMSEG_R101, 'SegmentationClassAug'),
}
# the COCO 2014 twins of two of them (one WSSSCOCODataset on the layout above, 80-d labels in
# cls_labels_coco.npy), narrowed as their VOC configs
COCO = {f'{name}_coco': (config, ) + REFINE_STAGE3[name][1:] for name, config in (
    ('affinity_r38', 'configs/affinity/affinitynet_r38_coco.py'),
    ('deeplabv1_r38', 'configs/stage3/deeplabv1-largefov_r38_coco-pseudo.py'))}
SYNC_BN = ('affinity_r50', 'deeplabv1_r38', 'deeplabv3_r101', 'deeplabv3plus_r101',
           'pspnet_pmm_r101')  # their SyncBN is built as BN (tools/train.py, no CUDA)
SYNC_BN += tuple(f'{name}_coco' for name in SYNC_BN if f'{name}_coco' in COCO)
# parameters that knowingly receive no gradient: {run-name prefix: {parameter: (iterations,
# reason)}}
KNOWN_UNUSED = {
    'sbce': {'decode_head.threshold.weight': (
        (0, ), 'Spatial-BCE network iteration before the first threshold iteration: the '
        'official threshold head has no gradient yet (its zero-weighted DDP term is dropped '
        'before the step; afterwards it is kept as zero, as PyTorch 1.7\'s zero_grad)')},
}


# bf16 runs: every config but the baseline CAM configs, whose networks and losses run under bf16
# in their add-on twin's run (``<name>_hfpl``: the baseline's step plus the add-on's losses)
TWINNED_BASELINES = ('seam', 'sipe', 'pmm', 'mctformer', 'sbce')
assert all(f'{name}_hfpl' in CONFIGS for name in TWINNED_BASELINES)


def modes(name: str) -> tuple:
    """The precisions ``name`` trains in: fp32, and bf16 autocast unless its twin covers it."""
    return ('fp32', ) if name in TWINNED_BASELINES else ('fp32', 'bf16')


def known_unused(run: str, iteration: int) -> dict:
    out = {}
    for prefix, params in KNOWN_UNUSED.items():
        if run.startswith(prefix):
            out.update({p: why for p, (iters, why) in params.items() if iteration in iters})
    return out


def launch_driver(specs, tmp, nproc=WORLD, timeout=1500):
    spec_file, out_file = osp.join(tmp, 'spec.json'), osp.join(tmp, 'out.json')
    with open(spec_file, 'w') as f:
        json.dump(specs, f)
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')

    def once(attempt):
        return subprocess.run(
            [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
             f'--master_port={free_port()}', DRIVER, spec_file, out_file],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    res = retry_on_rank_abort(once)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    with open(out_file) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def ddp_results(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp('ddp_configs'))
    root = osp.join(tmp, 'VOC2012')
    names = make_voc_layout(root, NUM_IMAGES, 96, 96,
                            splits=sorted({2 * c[1] for c in CONFIGS.values()}))
    write_affinity_crf(root, names[:16])
    write_coco_labels(root)
    specs = []
    for name, (config, total, pipe, extra) in CONFIGS.items():
        opts = voc_options(root, 2 * total, pipe)
        opts.update(extra)
        if name.startswith('sbce'):
            opts['model.decode_head.fg_prior.file'] = osp.join(root, 'voc12_init.npy')
        for mode in modes(name):
            specs.append(dict(name=f'{name}_{mode}', config=config, options=opts,
                              autocast=mode == 'bf16'))
    for name, (config, _, pipe, extra, labels) in REFINE_STAGE3.items():
        opts = voc_options(root, 16, pipe, epochs=False)
        opts.update(extra)
        for i in (0, 1):
            opts[f'train_dataloader.dataset.datasets.{i}.data_prefix.seg_map_path'] = labels
        for mode in modes(name):
            specs.append(dict(name=f'{name}_{mode}', config=config, options=opts,
                              autocast=mode == 'bf16'))
    for name, (config, _, pipe, extra, labels) in COCO.items():
        opts = dict(coco_options(root, pipe, labels), **extra)
        for mode in modes(name):
            specs.append(dict(name=f'{name}_{mode}', config=config, options=opts,
                              autocast=mode == 'bf16'))
    return launch_driver(specs, tmp)


RUNS = [f'{name}_{mode}' for name in [*CONFIGS, *REFINE_STAGE3, *COCO] for mode in modes(name)]


@pytest.mark.parametrize('run', RUNS)
def test_config_trains_two_ddp_iterations(ddp_results, run):
    name = run.rsplit('_', 1)[0]
    ranks = ddp_results[run]
    assert len(ranks) == WORLD
    for rank, rec in enumerate(ranks):
        assert rec['error'] is None, f'rank {rank}: {rec["error"]}\n{rec.get("traceback")}'
        if name in CONFIGS:  # the config's total batch, split over the processes
            total = CONFIGS[name][1]
            assert rec['config_total_batch'] == total and rec['per_process_batch'] == total // 2
        elif rec['config_total_batch'] is None:  # the config's batch per process (mmseg's)
            total = {**REFINE_STAGE3, **COCO}[name][1] * WORLD
            assert rec['per_process_batch'] == total // WORLD
        else:  # a refinement / stage-3 config that states its total batch
            total = rec['config_total_batch']
            assert rec['per_process_batch'] == total // WORLD
        assert rec['total_batch'] == total  # as logged at start:
        assert rec['messages'][0].startswith(f'effective total batch size {total} = 2 process')
        assert any('SyncBN layer config(s) built as BN' in m for m in rec['messages']) == \
            (name in SYNC_BN)
        assert [it['iter'] for it in rec['iters']] == [0, 1]
        for it in rec['iters']:
            assert it['batch'] == rec['per_process_batch']
            assert it['losses'] and it['finite'], it['losses']
            assert it['non_finite_grad'] == [], it['non_finite_grad']
            expected = known_unused(name, it['iter'])
            assert sorted(it['no_grad']) == sorted(expected), (rank, it['iter'], it['no_grad'])
        assert rec['trainable'] > 0
        assert rec['max_param_diff_to_rank0'] == 0.0, rec['params_differing']
