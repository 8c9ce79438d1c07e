"""The MCTformer-V2 configs through the real tools: the full-size VOC configs (DeiT-S, 20 class
tokens) run a training iteration on a tiny VOC-layout dataset, the CPU-sized twins go
train -> pseudo-labels -> J / F."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from ..utils import output_files, short_training_options, train_log, twin_options
from .test_seam_configs import ROOT, run


def small_voc_options(root):
    """The full-size config on two tiny images: 64-pixel crops, batch 2, fp32 (AMP needs a GPU)."""
    opts = [f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False', 'model.backbone.init_cfg=None',
            'model.data_preprocessor.size=(64,64)', 'train_cfg.max_epochs=1',
            'optim_wrapper.type=OptimWrapper', 'default_hooks.checkpoint=None',
            'default_hooks.logger.interval=1']
    for i in (0, 1):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}', f'{d}.pipeline.1.scale=64']
    return opts


@pytest.mark.parametrize('config,extra', [
    ('configs/mctformer/mctformer-v2_deit-s_voc.py', ()),
    ('configs/hfpl/mctformer_voc.py', ('decode.loss_isl', 'decode.loss_fsl')),
])
def test_full_size_voc_config_trains_an_iteration(tiny_voc, tmp_path, config, extra):
    run(['tools/train.py', config, '--work-dir', str(tmp_path), '--cfg-options',
         *small_voc_options(tiny_voc)])
    log, lines = train_log(tmp_path)
    line = lines[-1]
    for name in ('decode.loss_gap', 'decode.loss_cls_token', *extra):
        assert f'{name}: ' in line, line
    if not extra:
        assert 'loss_isl' not in line and 'loss_fsl' not in line
    # DeiT-S with 20 class tokens (+ 14x14 patch positions) and the 3x3 head to 20 classes
    assert 'backbone.cls_token - torch.Size([1, 20, 384])' in log
    assert 'backbone.pos_embed - torch.Size([1, 216, 384])' in log
    assert 'backbone.blocks.11.attn.qkv.weight - torch.Size([1152, 384])' in log
    assert 'decode_head.conv_seg.weight - torch.Size([20, 384, 3, 3])' in log


@pytest.mark.parametrize('config,extra', [
    ('configs/mctformer/mctformer-v2_vit-tiny_synthetic.py', ()),
    ('configs/hfpl/mctformer_synthetic.py', ('decode.loss_isl', 'decode.loss_fsl')),
])
def test_cpu_twin_trains_and_scores_pseudo_labels(synthetic_root, tmp_path, config, extra):
    opts = twin_options(synthetic_root, extra=['model.backbone.img_size=64'])
    train_opts = opts + short_training_options(4)
    work = tmp_path / 'work'
    log = run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options', *train_opts])
    assert 'J&F: ' in log  # validation scored the attention-fused CAM labels
    line = [ln for ln in log.splitlines() if 'Iter(train)' in ln and 'loss:' in ln][-1]
    for name in ('decode.loss_gap', 'decode.loss_cls_token', *extra):
        assert f'{name}: ' in line, line
    out = tmp_path / 'pl'
    run(['tools/make_pseudo_labels.py', config, str(work / 'iter_4.pth'), '--out', str(out),
         '--cfg-options', *opts])
    metrics = json.load(open(out / 'metrics.json'))
    # scales (1.0 + flip), CRF alphas 1 / 12 and the AffinityNet labels come from the config
    assert {'cam', 'crf_a1', 'crf_a12'} <= set(metrics)
    scores = [res[k] for res in metrics.values() for k in ('J', 'F', 'J&F') if k in res]
    assert len(scores) >= 9 and all(0 <= v <= 100 for v in scores)
    assert len(output_files(out / 'aff_label')) == 16
    assert len(output_files(out / 'crf_a12')) == 16
    manifest = json.load(open(out / 'cams' / 'manifest.json'))
    assert manifest['scales'] == [1.0] and manifest['flip'] is True
    assert manifest['crf_alphas'] == [1, 12]


def test_hfpl_cpu_twin_adds_isl_and_fsl_to_the_twin():
    """The add-on twin has the twin's model plus ISL and FSL on the patch CAM (x4, eq. 16's
    lambda 0.02, FSL x0.1)."""
    base = Config.fromfile(osp.join(ROOT, 'configs/mctformer/mctformer-v2_vit-tiny_synthetic.py'))
    cfg = Config.fromfile(osp.join(ROOT, 'configs/hfpl/mctformer_synthetic.py'))
    assert cfg.model.backbone == base.model.backbone
    assert cfg.pseudo_label_cfg == base.pseudo_label_cfg
    model = MODELS.build(cfg.model).train()
    sample = SegDataSample(metainfo=dict(img_shape=(112, 112)))
    sample.gt_img_label = torch.tensor([1., 0., 0., 1., 0.])
    losses = model.loss(torch.rand(1, 3, 112, 112) * 255, [sample])
    assert {'decode.loss_gap', 'decode.loss_cls_token', 'decode.loss_isl',
            'decode.loss_fsl'} <= set(losses)
    add_on = model.decode_head.add_on
    assert add_on.fsl.upsample_factor == 4 and add_on.fsl.loss_weight == 0.1
    assert add_on.lam == pytest.approx(0.02) and add_on.cls_weight == pytest.approx(0.98)
    assert add_on.isl.loss_weight == pytest.approx(0.02)
