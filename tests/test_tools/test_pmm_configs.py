"""The PMM configs: their recipe values, the full-size stage A trains an iteration on a tiny VOC
layout through tools/train.py, the PSPNet + PUF segmentation model is built from its config and
back-propagates its loss on masks, and the CPU twin (with the hfpl add-on) goes through the real
tools train -> CAMs -> PPMG masks (tools/make_pseudo_labels.py) -> J / F."""
import json
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_hfpl.pseudo_labels import load_cams
from mmseg_hfpl.pseudo_labels.pmm import ppmg_labels
from ..utils import output_files, train_log, twin_options
from .test_seam_configs import run, small_voc_options


def test_stage_a_configs_state_pmm_recipe():
    seam = Config.fromfile('configs/seam/seam_r38_voc.py')
    for path in ('configs/pmm/pmm-a_r38_voc.py', 'configs/hfpl/pmm_voc.py'):
        cfg = Config.fromfile(path)
        assert cfg.train_dataloader.batch_size == 24 and cfg.optim_wrapper.optimizer.lr == 0.02
        assert cfg.train_cfg.max_epochs == 8 and cfg.crop_size == (448, 448)
        plcfg = cfg.pseudo_label_cfg
        assert plcfg.crf_alphas == (24, ) and not plcfg.affinity_labels  # no AffinityNet
        # everything else is SEAM's (model, pipeline, momentum quirk)
        assert cfg.train_pipeline == seam.train_pipeline
        assert cfg.optim_wrapper.optimizer.momentum == seam.optim_wrapper.optimizer.momentum
    add_on = Config.fromfile('configs/hfpl/pmm_voc.py').model.decode_head.add_on
    assert add_on.isl.lam == 0.2 and add_on.isl.num_samples == 10
    assert add_on.fsl.weight == 1.0 and add_on.fsl.gating == 'max_norm'
    assert 'add_on' not in Config.fromfile('configs/pmm/pmm-a_r38_voc.py').model.decode_head
    twin = Config.fromfile('configs/pmm/pmm-a_r38tiny_synthetic.py')
    assert twin.train_dataloader.batch_size == 24 and twin.optim_wrapper.optimizer.lr == 0.1
    assert twin.train_cfg.max_iters == 500 and twin.param_scheduler[0].end == 500


def test_stage_a_trains_an_iteration(tiny_voc, tmp_path):
    # (the add-on's ISL / FSL terms run in the CPU twin below; same head, same losses)
    run(['tools/train.py', 'configs/pmm/pmm-a_r38_voc.py', '--work-dir', str(tmp_path),
         '--cfg-options', *small_voc_options(tiny_voc)])
    log, lines = train_log(tmp_path)
    line = lines[-1]
    for name in ('decode.loss_gap', 'decode.loss_rvmin', 'decode.loss_er', 'decode.loss_ecr'):
        assert f'{name}: ' in line, line
    assert 'lr: 2.0000e-02' in line  # PMM's base lr (SEAM: 1e-2), first iteration of the poly
    assert 'loss_isl' not in line and 'loss_fsl' not in line
    assert 'decode_head.conv_seg.weight - torch.Size([21, 4096, 1, 1])' in log


def test_pspnet_puf_config_builds_and_back_propagates():
    cfg = Config.fromfile('configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py')
    for head, weight in (('decode_head', 1.0), ('auxiliary_head', 0.4)):
        assert cfg.model[head].loss_decode == dict(
            type='PretendedUnderFittingLoss', mode='clamp', mean_threshold=0.5, k=0.5,
            loss_weight=weight)
    assert cfg.train_cfg.max_iters == 20000 and cfg.optim_wrapper.optimizer.lr == 0.005
    assert cfg.param_scheduler[0].eta_min == 1e-4 and cfg.train_dataloader.batch_size == 4
    for ds in cfg.train_dataloader.dataset.datasets:
        assert ds.type == 'WSSSVOCDataset' and ds.data_prefix.seg_map_path == cfg.pseudo_label_dir
    # the real ResNet-101 PSPNet, with BN instead of SyncBN and no ImageNet download
    model_cfg = cfg.model
    model_cfg.pretrained = None
    for part in ('backbone', 'decode_head', 'auxiliary_head'):
        model_cfg[part].norm_cfg = dict(type='BN', requires_grad=True)
    model_cfg.data_preprocessor.size = (64, 64)
    model = MODELS.build(model_cfg)
    assert model.backbone.depth == 101 and type(model.decode_head).__name__ == 'PSPHead'
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        mask = torch.zeros(1, 64, 64, dtype=torch.long)
        mask[:, 10:40, 12:50] = 15
        mask[:, :4] = 255  # void rows
        sample = SegDataSample(gt_sem_seg=PixelData(data=mask))
        sample.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(sample)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_puf', 'aux.loss_puf'} <= set(losses) and 'decode.loss_ce' not in losses
    assert losses['decode.loss_puf'].item() > 0.5  # untrained: mean CE ~ log(21)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0  # reaches the first conv
    # the head's PUF loss is mmseg's CE (void pixels counting 0 in the mean) while PUF is off
    model.eval()  # no dropout: the same logits for the reference value
    label = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    with torch.no_grad():
        logits = model.decode_head(model.extract_feat(data['inputs']))
        up = F.interpolate(logits, size=(64, 64), mode='bilinear', align_corners=False)
        ref = F.cross_entropy(up, label, ignore_index=255, reduction='none').mean()
        got = model.decode_head.loss_by_feat(logits, samples)['loss_puf']
    assert ref > 0.5
    torch.testing.assert_close(got, ref)


def test_cpu_twin_cams_to_ppmg_scores(synthetic_root, tmp_path):
    # the hfpl twin (PMM's recipe + ISL/FSL); the plain twin differs only by the two losses
    config = 'configs/hfpl/pmm_synthetic.py'
    opts = twin_options(synthetic_root, extra=[
        'model.backbone.base_channels=8', 'model.decode_head.in_channels=(64,128,512)',
        'model.decode_head.channels=512'])
    work = tmp_path / 'work'
    log = run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *opts,
               'train_cfg.max_iters=4', 'train_cfg.val_interval=100', 'param_scheduler.0.end=4',
               'default_hooks.checkpoint.interval=4', 'default_hooks.logger.interval=1'])
    assert 'decode.loss_isl: ' in log and 'decode.loss_fsl: ' in log
    out = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', config, str(work / 'iter_4.pth'), '--out', str(out),
         '--scales', '1.0', '--cfg-options', *opts])
    assert len(output_files(out / 'crf_a24')) == 16 and not (out / 'aff_label').exists()
    # PPMG (pseudo_label_cfg.ppmg) of the 16 training images, scored against their masks
    metrics = json.load(open(out / 'metrics.json'))
    assert 0 <= metrics['ppmg']['J'] <= 100 and 0 <= metrics['ppmg']['F'] <= 100
    names = sorted(osp.splitext(n)[0] for n in output_files(out / 'ppmg'))
    assert len(names) == 16
    for name in names[:3]:  # the tool's masks are ppmg_labels of the saved CAMs
        cams, classes = load_cams(str(out / 'cams' / f'{name}.npz'))
        image = cv2.imread(osp.join(synthetic_root, 'JPEGImages', f'{name}.jpg'))[..., ::-1]
        label = ppmg_labels(np.ascontiguousarray(image), cams, classes, alpha=11)
        assert set(np.unique(label)) <= {0, *classes.tolist()}  # only labelled classes
        assert np.array_equal(np.asarray(Image.open(out / 'ppmg' / f'{name}.png')), label)
