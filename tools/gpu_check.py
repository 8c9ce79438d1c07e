"""GPU acceptance check: run once on a CUDA machine (sized for < 8 minutes on one H200-class GPU).

    python tools/gpu_check.py [--out work_dirs/gpu_check] [--iters 20] [--configs NAME ...]
        [--budget SECONDS] [--pipeline CONFIG] [--rows-from FILE]

(a) FSL forward + backward on the GPU, ours (blockwise) against the dense reference of the
    official formulas (``mmseg_hfpl/losses/reference.py``) at B=8, C=21, 56^2 and 112^2: value and
    gradient differences, time and peak CUDA memory of both, and the speed-up (dense / ours);
(b) each full-size CAM config (``CONFIGS``) trains ``--iters`` iterations at its full crop and
    total batch under ``--amp`` with ``torchrun`` on one GPU (``tools/train.py``), on a synthetic
    VOC-layout dataset of 500x375 images made here (no download; backbones from scratch):
    iterations/s, peak memory and the first / last loss;
(c) multi-scale (+ flip) pseudo-labels of 8 images with ``tools/make_pseudo_labels.py`` from the
    checkpoint of the first config of (b), run right after it, with the SEAM CRF at alpha 4 when
    pydensecrf imports (else without, noted);
(d) with ``--pipeline CONFIG``: that pipeline end to end on the GPU with ``tools/run_pipeline.py``
    (skipped with a note while the tool does not exist).

``--budget`` bounds the whole run: a check that would start with less than 90 s left is
reported as skipped (``tools/gpu_bootstrap.sh`` passes what its 10 minutes leave).
``--rows-from`` puts the rows of a JSON list first (the bootstrap's own steps); a row there with
``"fatal": true`` stops before the checks. Prints one table and exits 1 on any failure. Without
CUDA it prints one line and exits 0 (the CPU tests run its pieces with ``device='cpu'`` and tiny
sizes).
"""
import argparse
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

# name: (config, its total batch); (b) trains each at its full crop and batch
CONFIGS = {
    'seam': ('configs/seam/seam_r38_voc.py', 8),
    'seam_hfpl': ('configs/hfpl/seam_voc.py', 8),
    'sipe': ('configs/sipe/sipe_r50_voc.py', 16),
    'sipe_hfpl': ('configs/hfpl/sipe_voc.py', 16),
    'pmm': ('configs/pmm/pmm-a_r38_voc.py', 24),
    'pmm_hfpl': ('configs/hfpl/pmm_voc.py', 24),
    'mctformer': ('configs/mctformer/mctformer-v2_deit-s_voc.py', 64),
    'mctformer_hfpl': ('configs/hfpl/mctformer_voc.py', 64),
    'sbce': ('configs/spatial_bce/spatial-bce_r38_voc.py', 12),
    'sbce_hfpl': ('configs/hfpl/spatial_bce_voc.py', 12),
}
COLUMNS = ('check', 'status', 'value / grad diff', 'time', 'peak memory', 'notes')


def make_voc_layout(root: str, num_images: int, height: int = 60, width: int = 80,
                    splits: Sequence[int] = ()) -> List[str]:
    """``num_images`` random images (one class each: a darker rectangle, its mask) in the VOC
    2012 + SBD layout with PSA's ``cls_labels.npy``, the Spatial-BCE prior ``voc12_init.npy``
    (0.25 for the image's class), ``train.txt`` (2 images) and, for every ``n`` in ``splits``,
    ``train_<n>.txt`` / ``aug_<n>.txt`` with the first ``n`` images split in halves. Returns
    the image names."""
    import cv2
    for d in ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, d), exist_ok=True)
    rng = np.random.default_rng(0)
    labels, prior, names = {}, {}, []
    for i in range(num_images):
        name = f'2010_{i:06d}'
        cls = 1 + i % 20
        img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        mask = np.zeros((height, width), np.uint8)
        mask[height // 4:3 * height // 4, width // 4:3 * width // 4] = cls
        img[mask > 0] //= 2
        cv2.imwrite(osp.join(root, 'JPEGImages', f'{name}.jpg'), img)
        for d in ('SegmentationClass', 'SegmentationClassAug'):
            cv2.imwrite(osp.join(root, d, f'{name}.png'), mask)
        labels[name] = np.eye(20, dtype=np.float32)[cls - 1]
        prior[name] = labels[name] * 0.25
        names.append(name)
    np.save(osp.join(root, 'cls_labels.npy'), labels)
    np.save(osp.join(root, 'voc12_init.npy'), prior)
    split_dir = osp.join(root, 'ImageSets/Segmentation')
    for n in splits:
        if n > num_images:
            raise ValueError(f'split of {n} images asked from {num_images}')
        for part, chunk in (('train', names[:n // 2]), ('aug', names[n // 2:n])):
            with open(osp.join(split_dir, f'{part}_{n}.txt'), 'w') as f:
                f.write('\n'.join(chunk) + '\n')
    with open(osp.join(split_dir, 'train.txt'), 'w') as f:
        f.write('\n'.join(names[:2]) + '\n')
    return names


def format_table(rows: Sequence[Dict[str, str]]) -> str:
    """A plain-text table of ``rows`` (dicts keyed by ``COLUMNS``; missing cells empty)."""
    cells = [list(COLUMNS)] + [[str(r.get(c, '')) for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ['  '.join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def _memory(device) -> Optional[float]:
    import torch
    if torch.device(device).type != 'cuda':
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def _timed(fn, device):
    """``(value, grad, seconds, peak MiB or None)`` of one forward + backward of ``fn``."""
    import torch
    cuda = torch.device(device).type == 'cuda'
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    value, grad = fn()
    if cuda:
        torch.cuda.synchronize(device)
    return value, grad, time.perf_counter() - start, _memory(device)


def check_fsl(device: str = 'cuda', size: int = 56, batch: int = 8, channels: int = 21,
              repeats: int = 3) -> Dict[str, float]:
    """FSL (eq. 9) forward + backward, blockwise (ours) vs dense reference, on the same random
    inputs on ``device``: ``value_diff`` / ``grad_diff`` relative to the reference, median times,
    peak memory (MiB, CUDA only) of each, and ``time_ratio`` = ours / reference."""
    import torch

    from mmseg_hfpl.losses.functional import pairwise_feature_similarity
    from mmseg_hfpl.losses.reference import dense_feature_similarity
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(batch, 3, size, size, generator=gen).to(device)
    gated = torch.rand(batch, channels, size, size, generator=gen).to(device)
    out = {}
    for name, loss in (('ours', pairwise_feature_similarity), ('ref', dense_feature_similarity)):

        def step(loss=loss):
            y = gated.clone().requires_grad_()
            value = loss(image, y)
            value.backward()
            return value.detach().double().item(), y.grad.detach().double()

        step()  # warm-up (kernels, caches)
        runs = [_timed(step, device) for _ in range(repeats)]
        out[f'{name}_value'], out[f'{name}_grad'] = runs[0][0], runs[0][1]
        out[f'{name}_time'] = float(np.median([r[2] for r in runs]))
        out[f'{name}_memory'] = max((r[3] or 0.0) for r in runs) if runs[0][3] is not None \
            else None
    ref_grad = out.pop('ref_grad')
    grad = out.pop('ours_grad')
    out['value_diff'] = abs(out['ours_value'] - out['ref_value']) / max(abs(out['ref_value']),
                                                                      1e-12)
    out['grad_diff'] = ((grad - ref_grad).abs().max() / ref_grad.abs().max().clamp(min=1e-12)
                        ).item()
    out['time_ratio'] = out['ours_time'] / out['ref_time']
    return out


def fsl_row(size: int, res: Dict[str, float], batch: int = 8,
            tolerance: float = 1e-4) -> Dict[str, str]:
    ok = res['value_diff'] < tolerance and res['grad_diff'] < tolerance

    def mem(key):
        return 'n/a' if res[key] is None else f'{res[key]:.0f} MiB'

    return dict(check=f'FSL {size}x{size} B={batch}', status='ok' if ok else 'FAIL',
                **{'value / grad diff': f'{res["value_diff"]:.1e} / {res["grad_diff"]:.1e}',
                   'time': f'{res["ours_time"] * 1e3:.1f} / {res["ref_time"] * 1e3:.1f} ms',
                   'peak memory': f'{mem("ours_memory")} / {mem("ref_memory")}',
                   'notes': f'ours / dense; dense / ours = {1 / res["time_ratio"]:.1f}x'})


def train_options(name: str, root: str, iters: int) -> List[str]:
    """``--cfg-options`` of (b): ``iters`` iterations (one epoch of ``iters`` x the total batch
    images, no validation), logged every iteration, data from ``root``, no pretrained weights;
    the crop, batch and pipeline stay the config's."""
    config, total = CONFIGS[name]
    opts = [f'{k}.dataset.data_root={root}' for k in ('val_dataloader', 'test_dataloader')]
    opts += ['model.backbone.init_cfg=None', 'train_cfg.max_epochs=1',
             f'train_cfg.val_interval={iters + 1}', 'default_hooks.logger.interval=1',
             'train_dataloader.num_workers=4']
    for i, part in enumerate(('train', 'aug')):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}',
                 f'{d}.ann_file=ImageSets/Segmentation/{part}_{iters * total}.txt']
    if name.startswith('sbce'):
        opts.append(f'model.decode_head.fg_prior.file={osp.join(root, "voc12_init.npy")}')
    return opts


def train_command(name: str, root: str, work_dir: str, iters: int) -> List[str]:
    """torchrun on one GPU: ``tools/train.py CONFIG --launcher pytorch --amp ...``."""
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=1',
            osp.join(ROOT, 'tools', 'train.py'), CONFIGS[name][0], '--launcher', 'pytorch',
            '--amp', '--work-dir', work_dir, '--cfg-options', *train_options(name, root, iters)]


LOG_FIELD = re.compile(r'\b(time|memory|loss): ([0-9.eE+-]+|nan|inf)')


def parse_train_log(text: str) -> Dict[str, object]:
    """From mmengine's training log lines: ``iters`` logged, ``iters_per_s`` (mean of
    ``time`` over the logged iterations after the first two, warm-up), ``memory`` (the largest
    ``memory``, MiB) and the total ``loss`` of the first and last iteration."""
    times, memory, losses = [], [], []
    for line in text.splitlines():
        if '(train)' not in line or 'loss:' not in line:
            continue
        fields = dict(LOG_FIELD.findall(line))
        times.append(float(fields['time']))
        if 'memory' in fields:
            memory.append(float(fields['memory']))
        losses.append(float(fields['loss']))
    steady = times[2:] or times
    return dict(iters=len(times), iters_per_s=1 / np.mean(steady) if steady else None,
                memory=max(memory) if memory else None, losses=losses)


EXCEPTION_LINE = re.compile(  # torchrun prefixes a rank's lines with '[rank0]: '
    r'^(?:\[rank\d+\]:)?\s*((?:[\w.]+\.)?\w*(?:Error|Exception|Interrupt)\b.*)$', re.M)


def error_line(text: str, limit: int = 160) -> str:
    """The last exception line of a failed subprocess's output (``RuntimeError: ...``), not
    torchrun's own ``ChildFailedError`` summary; the output's last line when there is none."""
    found = [m for m in EXCEPTION_LINE.findall(text) if 'distributed.elastic' not in m]
    line = found[-1].strip() if found else (text.strip().splitlines() or [''])[-1]
    return line[:limit]


def keep_output(path: str, stdout: str, stderr: str) -> None:
    """Write a subprocess's stdout and stderr to ``path`` (brought back with the check's logs)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(f'--- stdout\n{stdout}\n--- stderr\n{stderr}\n')


def train_row(name: str, log: Dict[str, object], iters: int, returncode: int,
              error: str = '') -> Dict[str, str]:
    losses = log.get('losses') or []
    ok = returncode == 0 and log.get('iters') == iters and losses \
        and all(math.isfinite(v) for v in losses)
    ips, mem = log.get('iters_per_s'), log.get('memory')
    return dict(check=f'train {name} (amp)', status='ok' if ok else 'FAIL',
                time='' if ips is None else f'{ips:.2f} it/s',
                **{'peak memory': '' if mem is None else f'{mem:.0f} MiB',
                   'notes': (f'loss {losses[0]:.4f} -> {losses[-1]:.4f}, {log.get("iters")} it'
                             if losses else error_line(error))})


def run_train(name: str, root: str, out: str, iters: int, timeout: int) -> Dict[str, str]:
    work = osp.join(out, name)
    start = time.perf_counter()
    try:
        res = subprocess.run(train_command(name, root, work, iters), cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout)
        code, text, error = res.returncode, res.stdout + res.stderr, res.stderr
        keep_output(osp.join(work, 'train_output.log'), res.stdout, res.stderr)
    except subprocess.TimeoutExpired as exc:
        code, text, error = 124, str(exc.stdout or ''), f'timed out after {timeout} s'
    row = train_row(name, parse_train_log(text), iters, code, error)
    row['notes'] += f' ({time.perf_counter() - start:.0f} s with start-up)'
    return row


def crf_available() -> bool:
    """pydensecrf (the pydensecrf2 package) imports: the CRF parts can run."""
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def pseudo_label_command(name: str, root: str, checkpoint: str, target: str,
                         crf: bool) -> List[str]:
    """``tools/make_pseudo_labels.py`` on the 8 images of ``train_8``/``aug_8`` on CUDA, with
    the SEAM CRF at alpha 4 when ``crf``."""
    opts = []
    for i, part in enumerate(('train', 'aug')):
        d = f'train_dataloader.dataset.datasets.{i}'
        opts += [f'{d}.data_root={root}', f'{d}.ann_file=ImageSets/Segmentation/{part}_8.txt']
    return [sys.executable, osp.join(ROOT, 'tools', 'make_pseudo_labels.py'), CONFIGS[name][0],
            checkpoint, '--out', target, '--device', 'cuda', '--score-split', 'none',
            '--overwrite', *(['--crf', '4'] if crf else []), '--cfg-options', *opts]


def run_pseudo_labels(name: str, root: str, out: str, timeout: int,
                      crf: Optional[bool] = None) -> Dict[str, str]:
    """(c): multi-scale + flip pseudo-labels of the 8 images of ``train_8``/``aug_8`` from the
    checkpoint (b) saved for ``name``, with the CRF at alpha 4 when ``crf`` (default: when
    pydensecrf imports)."""
    crf = crf_available() if crf is None else crf
    work = osp.join(out, name)
    ckpts = sorted(f for f in os.listdir(work) if f.endswith('.pth')) if osp.isdir(work) else []
    row = dict(check=f'pseudo-labels {name}, 8 images', status='FAIL')
    if not ckpts:
        row['notes'] = f'no checkpoint in {work}'
        return row
    target = osp.join(out, f'{name}_pseudo_labels')
    cmd = pseudo_label_command(name, root, osp.join(work, ckpts[-1]), target, crf)
    start = time.perf_counter()
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        keep_output(osp.join(work, 'pseudo_labels_output.log'), res.stdout, res.stderr)
    except subprocess.TimeoutExpired:
        row['notes'] = f'timed out after {timeout} s'
        return row

    def count(sub, ext):
        d = osp.join(target, sub)
        return len([f for f in os.listdir(d) if f.endswith(ext)]) if osp.isdir(d) else 0

    written, crf_written = count('cams', '.npz'), count('crf_a4', '.png')
    row['time'] = f'{time.perf_counter() - start:.1f} s'
    row['status'] = 'ok' if res.returncode == 0 and written == 8 and (
        not crf or crf_written == 8) else 'FAIL'
    crf_note = f', {crf_written} CRF (alpha 4) labels' if crf else \
        '; CRF skipped: pydensecrf does not import'
    row['notes'] = (f'{written} CAM files{crf_note}' if res.returncode == 0
                    else error_line(res.stdout + res.stderr))
    return row


PIPELINE_TOOL = osp.join(ROOT, 'tools', 'run_pipeline.py')
SYNTHETIC_ROOT = 'data/synthetic_voc'  # the synthetic configs' data_root


def run_pipeline(config: str, out: str, timeout: int) -> Dict[str, str]:
    """(d): one pipeline config end to end on the GPU with ``tools/run_pipeline.py`` (issue
    24), skipped with a note while that tool does not exist."""
    row = dict(check=f'pipeline {osp.basename(config)}', status='skipped')
    if not osp.isfile(PIPELINE_TOOL):
        row['notes'] = f'{osp.relpath(PIPELINE_TOOL, ROOT)} does not exist yet'
        return row
    start = time.perf_counter()
    cmds = [[sys.executable, PIPELINE_TOOL, config, '--work-dir', osp.join(out, 'pipeline'),
             '--gpus', '1']]
    if 'synthetic' in osp.basename(config) and not osp.isdir(osp.join(ROOT, SYNTHETIC_ROOT)):
        # the embedded dataset is made, not carried (data/ is ignored), as the README does
        cmds.insert(0, [sys.executable, osp.join(ROOT, 'tools', 'make_synthetic_dataset.py'),
                        SYNTHETIC_ROOT])
    for cmd in cmds:
        try:
            res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                 timeout=max(1, timeout - (time.perf_counter() - start)))
        except subprocess.TimeoutExpired as exc:
            keep_output(osp.join(out, 'pipeline_output.log'), str(exc.stdout or ''),
                        str(exc.stderr or ''))
            return dict(row, status='FAIL', notes=f'timed out after {timeout} s')
        keep_output(osp.join(out, 'pipeline_output.log'), res.stdout, res.stderr)
        if res.returncode:
            break
    return dict(row, status='ok' if res.returncode == 0 else 'FAIL',
                time=f'{time.perf_counter() - start:.0f} s',
                notes=f'report in {osp.join(out, "pipeline")}' if res.returncode == 0
                else error_line(res.stdout + res.stderr))


class Budget:
    """Seconds left of ``--budget`` (None: unbounded); a check that would start with less than
    ``minimum`` left is skipped (a training run with its start-up takes about that long)."""

    def __init__(self, seconds: Optional[float], minimum: float = 90):
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.minimum = minimum

    def left(self) -> float:
        return math.inf if self.deadline is None else self.deadline - time.monotonic()

    def timeout(self, cap: int) -> Optional[int]:
        """The timeout of the next check (at most ``cap``), None when it should be skipped."""
        left = self.left()
        return None if left < self.minimum else int(min(cap, left - 10))


def skipped_row(check: str) -> Dict[str, str]:
    return dict(check=check, status='skipped', notes='time budget spent (--budget)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='work_dirs/gpu_check')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--configs', nargs='+', choices=sorted(CONFIGS), default=list(CONFIGS))
    parser.add_argument('--timeout', type=int, default=150, help='seconds per training run')
    parser.add_argument('--budget', type=float, help='seconds for the whole check')
    parser.add_argument('--pipeline', metavar='CONFIG',
                        help='also run this pipeline config end to end (tools/run_pipeline.py)')
    parser.add_argument('--rows-from', metavar='JSON', help='rows to put first (a JSON list)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = osp.abspath(args.out)
    rows = json.load(open(args.rows_from)) if args.rows_from else []
    if any(r.get('fatal') for r in rows):
        print(format_table(rows))
        return 1
    import torch
    if not torch.cuda.is_available():
        print('gpu_check: no CUDA device, nothing to check (the CPU tests cover its pieces)')
        return 0
    budget = Budget(args.budget)
    root = osp.join(out, 'VOC2012')
    largest = max(CONFIGS[n][1] for n in args.configs) * args.iters
    sizes = sorted({CONFIGS[n][1] * args.iters for n in args.configs} | {8})
    make_voc_layout(root, largest, height=375, width=500, splits=sizes)
    rows.append(dict(check='device', status='ok', notes=torch.cuda.get_device_name(0)))
    for size in (56, 112):
        try:
            rows.append(fsl_row(size, check_fsl('cuda', size=size, batch=8), batch=8))
        except Exception as exc:  # reported in the table, the run continues
            rows.append(dict(check=f'FSL {size}x{size} B=8', status='FAIL',
                             notes=repr(exc)[:120]))
        torch.cuda.empty_cache()
    for i, name in enumerate(args.configs):
        timeout = budget.timeout(args.timeout)
        rows.append(skipped_row(f'train {name} (amp)') if timeout is None
                    else run_train(name, root, out, args.iters, timeout))
        if i == 0:  # (c) from the first checkpoint, before the budget runs low
            timeout = budget.timeout(args.timeout)
            rows.append(skipped_row(f'pseudo-labels {name}, 8 images') if timeout is None
                        else run_pseudo_labels(name, root, out, timeout))
    if args.pipeline:
        timeout = budget.timeout(10**6)
        rows.append(skipped_row(f'pipeline {osp.basename(args.pipeline)}') if timeout is None
                    else run_pipeline(args.pipeline, out, timeout))
    print(format_table(rows))
    with open(osp.join(out, 'gpu_check.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    return 0 if all(r['status'] != 'FAIL' for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
