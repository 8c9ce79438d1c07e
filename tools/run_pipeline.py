"""Run a pipeline config: every stage from image-level labels to a tested segmentor.

    .venv/bin/python tools/run_pipeline.py configs/pipelines/seam_synthetic.py \
        [--work-dir work_dirs/pipelines/seam_synthetic] [--gpus N] [--from STAGE] [--to STAGE]
        [--cfg-options max_iters=4 ...]

Each stage runs its tool (tools/train.py, make_pseudo_labels.py, refine_pseudo_labels.py,
test.py) as a subprocess with this interpreter, so its outputs are those of the same command
typed by hand (the exact command is logged and kept in the report). A rerun skips the stages
whose fingerprint (settings, resolved config, what they read) is unchanged, reruns a changed
one and everything below it, and continues a killed stage where it stopped. ``--gpus N``
launches the training, test and CAM stages through torch.distributed.run with N processes
(gloo ranks without CUDA; the config's total batch), the random walk with N workers.
``--from STAGE`` reruns STAGE and the stages after it (the earlier ones must have finished);
``--to STAGE`` stops after it. ``--cfg-options`` change the pipeline config (e.g.
``max_iters=4``, ``data_root=DIR``, ``stages.cam.config=...``). Writes ``pipeline.json`` and
``report.md`` in the work directory.
"""
import argparse

from mmengine.config import DictAction

from mmseg_hfpl.engine.process_exit import skip_exit_collection
from mmseg_hfpl.pipeline import Pipeline


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='pipeline config (configs/pipelines/)')
    parser.add_argument('--work-dir', help='default: work_dirs/pipelines/<config name>')
    parser.add_argument('--gpus', type=int, default=1, help='processes per stage')
    parser.add_argument('--from', dest='start', metavar='STAGE')
    parser.add_argument('--to', dest='stop', metavar='STAGE')
    parser.add_argument('--device', help='of the pseudo-label tools (default: cuda if there)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    Pipeline(args.config, args.work_dir, gpus=args.gpus, cfg_options=args.cfg_options,
             device=args.device).run(args.start, args.stop)


if __name__ == '__main__':
    skip_exit_collection()
    main()
