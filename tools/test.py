"""Test (and evaluate) a model: mmseg 1.2.2's tools/test.py with the mmseg_hfpl plugin.

For a CAMSegmentor the predictions are CAM pseudo-labels, so this scores them with the
config's evaluators (J = mIoU, F = boundary F, J&F).

``--tta``: mmseg's test-time augmentation (the config's ``tta_pipeline`` and ``tta_model``).
``--cfg-options test_crf=True``: the predictions (after the TTA merge, with ``--tta``) are refined
with a dense CRF (:class:`~mmseg_hfpl.models.DenseCRFPostProcessor`, settings: the config's
``crf_model``) before they are scored; mmseg 1.x has no CRF step.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmseg.registry import MODELS

import mmseg_hfpl  # noqa: F401
from mmseg_hfpl.engine import destroy_process_group
from mmseg_hfpl.engine.cfg_options import merge_cfg_options
from mmseg_hfpl.engine.process_exit import skip_exit_collection
from train import build_runner, prepare_device, prepare_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (an empty or truncated file, NaN / '
                        'Inf weights and a checkpoint of another model are refused, naming it)')
    parser.add_argument('--allow-partial', action='store_true',
                        help='load the checkpoint keys that fit the model (default: refuse a '
                        'checkpoint whose keys or shapes differ)')
    parser.add_argument('--work-dir', help='the directory to save the file containing '
                        'evaluation metrics')
    parser.add_argument('--show-dir', help='directory (under the work dir) where captioned '
                        'panels (input | ground truth | score heat map | prediction, with a '
                        'class legend) are written, in test_<checkpoint name>/')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (the '
                        "config's tta_pipeline and tta_model)")
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format '
        'will be merged into config file (a mistyped key is refused, naming the closest ones). '
        "test_crf=True: refine the predictions with the config's dense CRF "
        '(crf_model, DenseCRFPostProcessor; after the TTA merge with --tta) before scoring; '
        'crf_model.workers=N runs the CRFs of a batch in N processes.')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def use_tta(cfg, config_path: str) -> None:
    """mmseg's ``--tta``: the test set through ``tta_pipeline``, the model inside ``tta_model``."""
    missing = [k for k in ('tta_pipeline', 'tta_model') if cfg.get(k, None) is None]
    if missing:
        raise KeyError(f'--tta: {config_path} sets no {" / ".join(missing)}')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)  # a mistyped key is refused
    prepare_distributed(cfg, args.launcher)
    messages = prepare_device(cfg)  # SyncBN -> BN without CUDA
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.show_dir is not None:
        hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] != 'CAMVisualizationHook']
        hooks.append(dict(type='CAMVisualizationHook', out_dir=args.show_dir))
        cfg.custom_hooks = hooks
    if args.tta:
        use_tta(cfg, args.config)
    cfg.load_from = args.checkpoint
    runner = build_runner(cfg, args.allow_partial)
    for message in messages:
        runner.logger.info(message)
    if cfg.get('test_crf', False):
        crf_model = dict(cfg.get('crf_model', None) or dict(type='DenseCRFPostProcessor'))
        # around the runner's model (on its device, TTA / DDP-wrapped as mmengine does it);
        # mmengine loads the checkpoint into the wrapper's `module`, the segmentor
        runner.model = MODELS.build(crf_model, default_args=dict(model=runner.model))
        runner.logger.info(f'test-time dense CRF on the predictions: {crf_model}')
    runner.test()
    destroy_process_group()


if __name__ == '__main__':
    skip_exit_collection()
    main()
