"""What a tool process pays besides its work, with and without the project's two savings,
measured side by side in one run.

    python tools/benchmarks/tool_process.py [--repeats 5] [--cases torch plugin step env]

- **exit**: the interpreter's finalisation, without and with
  :func:`mmseg_hfpl.engine.process_exit.skip_exit_collection` (registered first), after
  importing torch alone (as the ``torch.distributed.run`` launcher does), the plugin (as every
  tool does), and the plugin plus a forward and backward pass of a small network. Each process
  prints the time when its work is done; the exit is the time from then until the parent sees
  the process end.
- **logged environment**: mmengine's ``collect_env()``, which a Runner logs at start, without
  and with :func:`mmseg_hfpl.engine.env_info.torchvision_version_only` (torchvision's version
  without importing torchvision), in a process that has imported the plugin.

Every case is a fresh ``python -c`` process (an import happens once per process), the two
variants alternately, ``--repeats`` times each; medians.
"""
import argparse
import os
import os.path as osp
import statistics
import subprocess
import sys
import time

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from machine import machine_line  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODULE = osp.join(ROOT, 'mmseg_hfpl', 'engine', 'process_exit.py')
# loads mmseg_hfpl/engine/process_exit.py by itself (it needs neither torch nor the plugin)
SKIP = ('import importlib.util as u\n'
        f's = u.spec_from_file_location("process_exit", {MODULE!r})\n'
        'm = u.module_from_spec(s)\n'
        's.loader.exec_module(m)\n'
        'm.skip_exit_collection()\n')
STEP = ('import torch\n'
        'net = torch.nn.Sequential(*[torch.nn.Conv2d(8, 8, 3, padding=1) for _ in range(8)])\n'
        'net(torch.randn(2, 8, 64, 64)).sum().backward()\n')
ENV = ('import time\n'
       'import mmseg_hfpl\n'
       'from mmengine.utils.dl_utils import collect_env\n'
       'from mmseg_hfpl.engine.env_info import torchvision_version_only\n'
       'start = time.time()\n'
       '{}'
       'print("timed", time.time() - start)\n')
# key: (name, script as is, script with the saving, what is timed)
CASES = {
    'torch': ('exit after import torch', 'import torch\n', SKIP + 'import torch\n', 'exit'),
    'plugin': ('exit after import mmseg_hfpl', 'import mmseg_hfpl\n',
               SKIP + 'import mmseg_hfpl\n', 'exit'),
    'step': ('exit after a training step', 'import mmseg_hfpl\n' + STEP,
             SKIP + 'import mmseg_hfpl\n' + STEP, 'exit'),
    'env': ('logged environment (collect_env)', ENV.format('collect_env()\n'),
            ENV.format('with torchvision_version_only():\n    collect_env()\n'), 'timed'),
}


def run_once(script: str, what: str) -> tuple:
    """(timed s, whole process s) of one ``python -c`` process."""
    script += 'import time\nprint("done", time.time(), flush=True)\n'
    start = time.time()
    res = subprocess.run([sys.executable, '-c', script], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=ROOT))
    end = time.time()
    if res.returncode != 0:
        raise SystemExit(f'the case failed:\n{script}\n{res.stderr[-2000:]}')
    out = dict(line.split() for line in res.stdout.splitlines() if line[:5] in ('timed', 'done '))
    timed = end - float(out['done']) if what == 'exit' else float(out['timed'])
    return timed, end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=5, help='processes per case and variant')
    parser.add_argument('--cases', nargs='+', choices=list(CASES), default=list(CASES),
                        help='which cases to run (default: all)')
    args = parser.parse_args()
    print(f'{machine_line()}; Python {sys.version.split()[0]}; median of {args.repeats} '
          'processes each, the two variants alternately')
    head = (f'{"case":34s} | {"as is s":>8s} {"saving s":>8s} {"speed-up":>8s} | '
            f'{"process s":>9s} {"saving s":>8s}  saved')
    print(head)
    print('-' * len(head))
    for name, plain, saving, what in (CASES[key] for key in args.cases):
        times = {0: [], 1: []}
        for _ in range(args.repeats):
            for k, script in enumerate((plain, saving)):
                times[k].append(run_once(script, what))
        part = [statistics.median(t[0] for t in times[k]) for k in (0, 1)]
        whole = [statistics.median(t[1] for t in times[k]) for k in (0, 1)]
        print(f'{name:34s} | {part[0]:8.3f} {part[1]:8.3f} {part[0] / max(part[1], 1e-9):7.1f}x | '
              f'{whole[0]:9.3f} {whole[1]:8.3f}  {whole[0] - whole[1]:5.2f} s')
    print(f'load average at the end: {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
