"""Benchmark: what the hfpl add-on (ISL + FSL) costs one training step of each full-size config.

For every CAM baseline, the baseline config and its hfpl twin are built from the configs
(``mmengine.Config`` + ``MODELS.build``, no pretrained weights: every ``init_cfg`` /
``pretrained`` is set to None; Spatial-BCE's foreground-ratio prior file is replaced by a
constant ratio of 0.3), with the same seed, and trained side by side on the same batch
(random smooth images at the config's crop, ``--batch`` images, one or two foreground classes
each): forward + backward + optimiser step (``model.train_step`` with the config's optimiser
wrapper; mixed precision replaced by fp32 on a CPU). Steps alternate between the two models (in
alternating order); after ``--warmup`` steps of each, the overhead is the median over
``--steps`` step pairs of ``t(add-on) / t(baseline) - 1``, with ``t`` the CPU time of this
process (``time.process_time``: with one torch thread, the step's own compute, undisturbed by
other processes on a shared machine) and, beside it, the wall time. The add-on's own loss
modules are timed inside the add-on step as well (``add-on losses``: their forward, in CPU
time, as a share of the baseline step).

A full-width ResNet-38 step (SEAM, PMM at 448, Spatial-BCE at 369) took 85-92 s on one core
of the shared 2-core AMD EPYC machine (SEAM, batch 2), so ``--r38-width`` (default 16 of 64) narrows its channels, and the
head's input channels with it, at the config's crop: the add-on's cost depends only on the CAM
shape, which is unchanged, so the overhead of the narrow model bounds that of the full one from
above. ``--r38-width 64`` runs the real width. SIPE (ResNet-50) and MCTformer (DeiT-S) always
run at full width.

    .venv/bin/python tools/benchmarks/addon_overhead.py                 # all five baselines
    .venv/bin/python tools/benchmarks/addon_overhead.py --configs seam sipe --steps 5
"""
import argparse
import copy
import os.path as osp
import statistics
import time
import warnings
from typing import Dict, List, Tuple

import numpy as np
import torch
from machine import machine_line

PAIRS = {
    'seam': ('configs/seam/seam_r38_voc.py', 'configs/hfpl/seam_voc.py'),
    'sipe': ('configs/sipe/sipe_r50_voc.py', 'configs/hfpl/sipe_voc.py'),
    'pmm': ('configs/pmm/pmm-a_r38_voc.py', 'configs/hfpl/pmm_voc.py'),
    'mctformer': ('configs/mctformer/mctformer-v2_deit-s_voc.py', 'configs/hfpl/mctformer_voc.py'),
    'spatial_bce': ('configs/spatial_bce/spatial-bce_r38_voc.py',
                    'configs/hfpl/spatial_bce_voc.py'),
}
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOAL = 0.05


def _no_pretrained(cfg):
    """Set every ``init_cfg`` and ``pretrained`` of a model config to None (no downloads)."""
    if isinstance(cfg, dict):
        for key in list(cfg.keys()):
            if key == 'init_cfg':
                cfg[key] = None
            elif key == 'pretrained':
                cfg[key] = False if isinstance(cfg[key], bool) else None
            else:
                _no_pretrained(cfg[key])
    elif isinstance(cfg, (list, tuple)):
        for item in cfg:
            _no_pretrained(item)


def _narrow_r38(model_cfg, width: int) -> str:
    """Scale a ResNet-38 backbone to ``base_channels=width`` and its head's inputs with it;
    returns a description of the width."""
    backbone = model_cfg['backbone']
    if backbone.get('type') != 'ResNet38d':
        return 'full'
    if width == backbone.get('base_channels', 64):
        return 'full'
    scale = width / backbone.get('base_channels', 64)
    backbone['base_channels'] = width
    head = model_cfg['decode_head']
    ins = head['in_channels']
    head['in_channels'] = tuple(int(c * scale) for c in ins) if isinstance(ins, (list, tuple)) \
        else int(ins * scale)
    if head.get('channels') == 4096:  # SEAM's fc8 input: conv6 itself
        head['channels'] = int(4096 * scale)
    return f'R38 {width}/64'


def build(config: str, seed: int, r38_width: int = 64):
    """(model, optimiser wrapper, crop size, width) of a config, built with ``seed``."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_hfpl  # noqa: F401
    cfg = Config.fromfile(osp.join(ROOT, config))
    init_default_scope('mmseg')
    model_cfg = copy.deepcopy(cfg.model)
    _no_pretrained(model_cfg)
    if 'fg_prior' in model_cfg['decode_head']:  # Spatial-BCE's per-image data prior
        model_cfg['decode_head']['fg_prior'] = dict(file=None, label_dir=None, default=0.3)
    width = _narrow_r38(model_cfg, r38_width)
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if not torch.cuda.is_available() and optim_cfg.get('type') == 'AmpOptimWrapper':
        optim_cfg['type'] = 'OptimWrapper'  # mmengine's AMP wrapper needs a GPU
        optim_cfg.pop('loss_scale', None)
        optim_cfg.pop('dtype', None)
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    return model, optim_wrapper, tuple(cfg.model.data_preprocessor['size']), width


def make_batch(crop, batch: int, num_fg: int, seed: int) -> dict:
    """Random smooth RGB images at the crop size with one or two labelled classes each, packed as
    ``PackWSSSInputs`` does (``inputs`` uint8 tensors, ``gt_img_label`` multi-hot)."""
    from mmseg.structures import SegDataSample
    rng = np.random.default_rng(seed)
    h, w = crop
    inputs, samples = [], []
    for i in range(batch):
        coarse = torch.from_numpy(rng.random((1, 3, h // 16 + 1, w // 16 + 1), np.float32))
        img = torch.nn.functional.interpolate(coarse, size=(h, w), mode='bilinear')[0]
        inputs.append((img * 255).round().to(torch.uint8))
        label = torch.zeros(num_fg)
        label[rng.choice(num_fg, size=1 + i % 2, replace=False)] = 1
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                             img_path=f'random_{i}.jpg', flip=False))
        sample.gt_img_label = label
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class LossTimer:
    """Accumulates the forward CPU time of the add-on loss modules of a model."""

    def __init__(self, model) -> None:
        from mmseg_hfpl.models.heads.add_on import ADD_ON_LOSSES
        self.seconds = 0.0
        for module in model.modules():
            if type(module).__name__ in ADD_ON_LOSSES:
                module.register_forward_pre_hook(self._start)
                module.register_forward_hook(self._stop)
        self._t0 = 0.0

    def _start(self, *args):
        self._t0 = time.process_time()

    def _stop(self, *args):
        self.seconds += time.process_time() - self._t0


def step_time(model, optim_wrapper, batch) -> Tuple[float, float]:
    """(CPU time, wall time) of one training step."""
    cpu, wall = time.process_time(), time.perf_counter()
    model.train_step(batch, optim_wrapper)
    return time.process_time() - cpu, time.perf_counter() - wall


def bench(name: str, batch_size: int, warmup: int, steps: int, seed: int,
          r38_width: int) -> Dict[str, float]:
    base_cfg, addon_cfg = PAIRS[name]
    base, base_optim, crop, width = build(base_cfg, seed, r38_width)
    addon, addon_optim, crop_addon, _ = build(addon_cfg, seed, r38_width)
    if crop != crop_addon:
        raise ValueError(f'{name}: crop {crop} of {base_cfg} differs from {crop_addon}')
    num_fg = base.decode_head.num_fg if hasattr(base.decode_head, 'num_fg') else 20
    batch = make_batch(crop, batch_size, num_fg, seed)
    timer = LossTimer(addon)
    times: Dict[str, List[float]] = {'base': [], 'addon': []}
    loss_share, ratios, wall_ratios = [], [], []
    for i in range(warmup + steps):
        timer.seconds = 0.0
        if i % 2:
            t_addon = step_time(addon, addon_optim, batch)
            t_base = step_time(base, base_optim, batch)
        else:
            t_base = step_time(base, base_optim, batch)
            t_addon = step_time(addon, addon_optim, batch)
        if i >= warmup:
            times['base'].append(t_base[0])
            times['addon'].append(t_addon[0])
            ratios.append(t_addon[0] / t_base[0])
            wall_ratios.append(t_addon[1] / t_base[1])
            loss_share.append(timer.seconds / t_base[0])
    return dict(crop=crop, width=width, base=statistics.median(times['base']),
                addon=statistics.median(times['addon']), overhead=statistics.median(ratios) - 1,
                overhead_wall=statistics.median(wall_ratios) - 1,
                losses=statistics.median(loss_share))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--configs', nargs='+', choices=list(PAIRS), default=list(PAIRS))
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--r38-width', type=int, default=16,
                        help='base_channels of ResNet-38 (64: the real network)')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmengine.logging import MMLogger
    MMLogger.get_instance('addon_overhead', log_level='ERROR')  # no optimiser-option log
    warnings.filterwarnings('ignore', category=UserWarning)
    print(f'{machine_line()}; torch {torch.__version__}, {torch.get_num_threads()} threads; '
          f'models built from the configs without pretrained weights, ResNet-38 width '
          f'{args.r38_width}/64 (SIPE, MCTformer full), batch {args.batch}, fp32; step CPU '
          f'times (s) and overhead = median over {args.steps} step pairs after {args.warmup} '
          f'warm-up')
    header = (f'{"config":<12} {"crop":>9} {"backbone":>10} | {"baseline s":>10} '
              f'{"+ add-on s":>10} {"overhead":>9} | {"wall":>7} | {"add-on losses":>13} | '
              f'goal <= {GOAL:.0%}')
    print(header)
    print('-' * len(header))
    for name in args.configs:
        res = bench(name, args.batch, args.warmup, args.steps, args.seed, args.r38_width)
        crop = f'{res["crop"][0]}x{res["crop"][1]}'
        verdict = 'met' if res['overhead'] <= GOAL else 'NOT met'
        print(f'{name:<12} {crop:>9} {res["width"]:>10} | {res["base"]:>10.3f} '
              f'{res["addon"]:>10.3f} {res["overhead"]:>+9.1%} | {res["overhead_wall"]:>+7.1%} | '
              f'{res["losses"]:>13.1%} | {verdict}', flush=True)


if __name__ == '__main__':
    main()
