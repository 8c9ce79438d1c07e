"""What mmengine's config handling costs a run's start, with and without
:mod:`mmseg_hfpl.engine.config_memo`, measured side by side in one process.

    python tools/benchmarks/config_memo.py [--reads 6] [--resolves 5] [--repeats 3]

Two steps, each timed with mmengine's own function and with the remembered one (each timing
starts from an empty cache; the median of ``--repeats``):

- ``pretty_text``: ``--reads`` reads of ``Config.pretty_text`` of one config, as a Runner does
  (the logged config, the dumped config, the runtime info hook, each checkpoint's meta);
- ``fromfile``: ``Config.fromfile`` of stage-3 configs, whose ``mmseg::`` bases send mmengine
  to the package's model index, each ``--resolves`` times, as a study resolves the same stage
  for each of its pipeline experiments.

Both outputs are compared with the original's (they must be equal).
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import mmengine.config.config as config_module
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from machine import machine_line  # noqa: E402

import mmseg_hfpl  # noqa: E402,F401  installs the memoized helpers

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEXT_CONFIG = 'configs/hfpl/seam_voc.py'
BASE_CONFIGS = ('configs/stage3/deeplabv3plus_effnet_msrc-pseudo.py',
                'configs/stage3/deeplabv3plus_r101-d8_voc12aug-pseudo.py',
                'configs/stage3/deeplabv3_r101-d8_voc12aug-pseudo.py',
                'configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py')
HELPERS = ('FormatCode', '_get_external_cfg_path')


def timed(fn, memoized: bool, repeats: int):
    """(median seconds, last output) of ``fn()`` with the helpers memoized or the originals."""
    memos = {name: getattr(config_module, name) for name in HELPERS}
    times, out = [], None
    try:
        for _ in range(repeats):
            for name, memo in memos.items():
                memo.cache.clear()
                setattr(config_module, name, memo if memoized else memo.__wrapped__)
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
    finally:
        for name, memo in memos.items():
            setattr(config_module, name, memo)
    return statistics.median(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--reads', type=int, default=6)
    parser.add_argument('--resolves', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    cfg = Config.fromfile(osp.join(ROOT, TEXT_CONFIG))

    def reads():
        return [cfg.pretty_text for _ in range(args.reads)]

    def resolve():
        return [Config.fromfile(osp.join(ROOT, path)).to_dict() for path in BASE_CONFIGS
                for _ in range(args.resolves)]

    print(f'{machine_line()}; median of {args.repeats}, each from an empty cache')
    print(f"{'step':<44} | original s  memoized s  speed-up | outputs equal")
    print('-' * 90)
    differ = []
    for what, fn in ((f'{args.reads} x pretty_text ({TEXT_CONFIG})', reads),
                     (f'{args.resolves} x fromfile of {len(BASE_CONFIGS)} mmseg:: configs',
                      resolve)):
        original, expected = timed(fn, False, args.repeats)
        memoized, got = timed(fn, True, args.repeats)
        print(f'{what:<44} | {original:10.3f}  {memoized:10.3f}  {original / memoized:7.1f}x | '
              f'{got == expected}')
        if got != expected:
            differ.append(what)
    if differ:
        raise SystemExit(f'the memoized helpers changed the output of: {differ}')


if __name__ == '__main__':
    main()
