"""configs/irn/irn_r50_voc12aug.py trains as irn step/train_irn.py (and SIPE train_irn.py): the
PolyOptimizer momentum quirk and the 0.5-1.5 rescale of the original image (the pipeline's
arithmetic: tests/test_datasets/test_official_transforms.py; two DDP iterations of the config:
tests/test_tools/test_distributed_configs.py)."""
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS, TRANSFORMS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/irn/irn_r50_voc12aug.py')


def test_irn_sgd_steps_as_the_official_poly_optimizer():
    """misc/torchutils.py:11-12: ``super().__init__(params, lr, weight_decay)`` is
    ``SGD(params, lr, momentum=weight_decay)``; the groups (step/train_irn.py:33-36) carry
    weight_decay 1e-4. Two steps of ours and of that optimiser on the same gradients."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.base_channels = 16
    cfg.model.in_channels = (64, 128, 256, 512)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ours = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    trainable = [p for p in model.parameters() if p.requires_grad]
    # the frozen backbone is in the optimiser too (no paramwise_cfg) but never has a gradient
    assert trainable and {id(p) for p in trainable} <= \
        {id(p) for g in ours.param_groups for p in g['params']}
    reference = [p.detach().clone().requires_grad_() for p in trainable]
    lr, weight_decay = 0.1, 1e-4  # run_sample.py irn_learning_rate, irn_weight_decay
    official = torch.optim.SGD([{'params': reference, 'lr': lr, 'weight_decay': weight_decay}],
                               lr, weight_decay)
    assert official.defaults['momentum'] == 1e-4 == ours.defaults['momentum']
    for step in range(3):
        grads = [torch.randn_like(p) for p in trainable]
        for params, opt in ((trainable, ours), (reference, official)):
            for p, g in zip(params, grads):
                p.grad = g.clone()
            opt.step()
        for p, q in zip(trainable, reference):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-7)


def test_irn_rescales_the_original_image_by_0_5_to_1_5():
    """irn step/train_irn.py:25 rescale=(0.5, 1.5) of the original: a 500 x 375 VOC image
    gets a long side of 250-750 (mmcv RandomResize((640, 320), (0.5, 1.0)) gave 213-425), then
    the 512 crop."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(CONFIG)
    pipeline = cfg.train_dataloader.dataset.datasets[0].pipeline
    assert [t['type'] for t in pipeline[2:]] == ['RandomRescale', 'RandomFlip',
                                                 'RandomContainerCrop', 'PackSegInputs']
    rescale, flip, crop = (TRANSFORMS.build(t) for t in pipeline[2:5])
    np.random.seed(0)
    longs = []
    for _ in range(300):
        res = rescale(dict(img=np.zeros((375, 500, 3), np.uint8),
                           gt_seg_map=np.zeros((375, 500), np.uint8)))
        longs.append(res['img'].shape[1])
        h, w = res['img'].shape[:2]
        assert abs(h - 0.75 * w) <= 1 and res['gt_seg_map'].shape == (h, w)  # the same factor
        out = crop(flip(res))
        assert out['img'].shape == (512, 512, 3) and out['gt_seg_map'].shape == (512, 512)
    assert 250 <= min(longs) < 260 and 740 < max(longs) <= 750
    assert 480 < np.mean(longs) < 520  # uniform factor: mean 500
