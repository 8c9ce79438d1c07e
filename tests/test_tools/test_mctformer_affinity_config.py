"""configs/affinity/affinitynet_r38_voc12aug-mctformer.py: MCTformer's AffinityNet recipe
(its ``run_psa.sh`` -> ``psa/train_aff.py`` at xulianuwa/MCTformer 9606597) as a diff of SEAM's
ResNet-38 AffinityNet: 5 epochs from psa's VOC-trained ResNet-38 classifier ``res38_cls.pth``."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_hfpl.models.backbones.resnet38d import ResNet38d

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/affinity/affinitynet_r38_voc12aug-mctformer.py'
BASE = 'configs/affinity/affinitynet_r38_voc12aug.py'
# parameter names of psa's network/resnet38d.Net (conv1a, ResBlock b2 .. b5_2 with bn_branch2a /
# conv_branch2a / bn_branch2b1 / conv_branch2b1 / conv_branch1, ResBlock_bot b6 / b7 with
# branch2b2 and the dropouts, bn7) and resnet38_cls.Net's classifier fc8 (Conv2d(4096, 20, 1,
# bias=False)): the keys of res38_cls.pth
PSA_NAMES = ('conv1a.weight', 'b2.bn_branch2a.running_mean', 'b2.conv_branch1.weight',
             'b3_2.conv_branch2b1.weight', 'b4_5.bn_branch2b1.running_var',
             'b5.conv_branch2a.weight', 'b6.conv_branch2b2.weight', 'b7.bn_branch2b2.weight',
             'bn7.bias', 'bn7.running_var')
# the narrow ResNet-38 of the CPU runs (base 8: conv4 / conv5 / conv6 = 64 / 128 / 512 channels)
NARROW = {'model.backbone.base_channels': 8, 'model.in_channels': (64, 128, 512)}


def psa_classifier_state(base_channels: int, seed: int = 0) -> dict:
    """A fake res38_cls.pth: random tensors under psa's names (the ResNet38d keys without
    ``num_batches_tracked``, which torch 0.4's BatchNorm did not have) plus ``fc8.weight``."""
    torch.manual_seed(seed)  # PyTorch's default conv init; BN near identity, not exactly 1 / 0
    g = torch.Generator().manual_seed(seed)
    state = {k: v + 0.1 * torch.rand(v.shape, generator=g) if 'bn' in k else v
             for k, v in ResNet38d(base_channels=base_channels).state_dict().items()
             if not k.endswith('num_batches_tracked')}
    state['fc8.weight'] = torch.randn(20, 64 * base_channels, 1, 1, generator=g)
    return state


def test_config_is_seams_affinitynet_with_five_epochs_from_the_classifier():
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    base = Config.fromfile(osp.join(ROOT, BASE))
    # psa/train_aff.py defaults: batch 8, lr 0.01, wt_dec 5e-4, crop 448, radius 5, 5 epochs
    assert cfg.total_batch_size == 8 and cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.model.radius == 5
    assert [t for t in cfg.train_pipeline if t['type'] == 'AffinityLabelsFromCRF'][0][
        'crop_size'] == 448
    iters = 10582 // 8 * 5
    assert cfg.train_cfg.max_iters == iters == 6610
    assert cfg.param_scheduler == [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=iters,
                                        by_epoch=False)]
    assert cfg.default_hooks.checkpoint.interval == iters
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained',
                                               checkpoint='pretrain/res38_cls.pth')
    # everything else is SEAM's AffinityNet (the same psa train_aff.py but 8 epochs, ImageNet)
    assert base.train_cfg.max_iters == 10582 // 8 * 8
    for key in ('optim_wrapper', 'train_dataloader', 'train_pipeline', 'pseudo_label_cfg',
                'test_dataloader'):
        assert cfg[key] == base[key], key
    model, base_model = cfg.model.to_dict(), base.model.to_dict()
    model['backbone'].pop('init_cfg')
    base_model['backbone'].pop('init_cfg')
    assert model == base_model
    assert cfg.train_cfg.type == 'IterBasedTrainLoop'


def test_psa_classifier_keys_are_the_backbone_keys_plus_fc8(tmp_path):
    """res38_cls.pth loads as it is through the config's init_cfg: its backbone weights all
    arrive, its classifier fc8 is left out."""
    state = psa_classifier_state(8)
    assert set(PSA_NAMES) < set(state)
    path = str(tmp_path / 'res38_cls.pth')
    torch.save(state, path)
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    cfg.merge_from_dict(dict(NARROW, **{'model.backbone.init_cfg.checkpoint': path}))
    model = MODELS.build(cfg.model)
    model.init_weights()
    own = model.backbone.state_dict()
    loaded = [k for k in state if k != 'fc8.weight']
    assert sorted(loaded) == sorted(k for k in own if not k.endswith('num_batches_tracked'))
    for k in loaded:
        assert torch.equal(own[k], state[k]), k
    assert not any('fc8' in k for k in model.state_dict())


def test_a_missing_classifier_checkpoint_is_named(tmp_path):
    missing = str(tmp_path / 'pretrain' / 'res38_cls.pth')
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    cfg.merge_from_dict(dict(NARROW, **{'model.backbone.init_cfg.checkpoint': missing}))
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError) as err:
        model.init_weights()
    assert missing in str(err.value) and 'model.backbone.init_cfg' in str(err.value)


def test_config_trains_an_iteration_from_the_classifier_on_cpu(tiny_voc, tmp_path):
    """tools/train.py: one iteration of the (narrowed) config on the tiny VOC layout, the
    backbone initialised from a fake res38_cls.pth, labels from aff_crf/*.npz."""
    import cv2
    ckpt = str(tmp_path / 'res38_cls.pth')
    torch.save(psa_classifier_state(8), ckpt)
    crf = tmp_path / 'aff_crf'
    crf.mkdir()
    for split in ('train', 'aug'):
        for name in open(osp.join(tiny_voc, 'ImageSets', 'Segmentation', f'{split}.txt')).read(
        ).split():
            fg = cv2.imread(osp.join(tiny_voc, 'SegmentationClassAug', f'{name}.png'), 0) > 0
            for_bg = np.stack([~fg, fg]).astype(np.float16)
            np.savez(crf / f'{name}.npz', low=0.2 + 0.6 * for_bg, high=0.1 + 0.8 * for_bg)
    opts = [f'{k}={v}' for k, v in NARROW.items()]
    opts = [o.replace(' ', '') for o in opts] + [
        f'model.backbone.init_cfg.checkpoint={ckpt}', f'pseudo_label_dir={crf}',
        'model.data_preprocessor.size=(96,96)', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        f'test_dataloader.dataset.data_root={tiny_voc}', 'train_cfg.max_iters=1',
        'param_scheduler.0.end=1', 'default_hooks.checkpoint=None',
        'default_hooks.logger.interval=1']
    for i in (0, 1):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={tiny_voc}', f'{d}.pipeline.2.crop_size=96']
    res = subprocess.run([sys.executable, 'tools/train.py', CONFIG, '--work-dir',
                          str(tmp_path / 'work'), '--cfg-options', *opts], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert f'load model from: {ckpt}' in log
    # the only key that does not fit is the classifier (num_batches_tracked is not reported)
    assert 'unexpected key in source state_dict: fc8.weight\n' in log
    assert 'missing keys in source state_dict' not in log
    lines = [ln for ln in log.splitlines() if 'Iter(train)' in ln and 'loss:' in ln]
    assert lines and '[1/1]' in lines[-1], log[-3000:]
    for name in ('loss_aff_bg', 'loss_aff_fg', 'loss_aff_neg'):
        assert f'{name}: ' in lines[-1], lines[-1]
