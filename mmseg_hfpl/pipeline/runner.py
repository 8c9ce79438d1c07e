"""Run the stages of a pipeline in order, each as a subprocess of the same interpreter, skipping
the stages whose fingerprint is unchanged and recording each finished one in ``pipeline.json``.

Resuming: a stage's fingerprint (:meth:`~.stages.StagePlan.fingerprint_payload`) chains those of
the stages it reads and the content of the checkpoints it loads, so a changed stage reruns with
everything below it and nothing above. A stage is recorded only after its tool succeeded
(``pipeline.json`` written atomically); a killed stage reruns over its own outputs, which its
tool resumes (training from ``last_checkpoint`` with ``--resume``, the pseudo-label tools by
skipping finished images); outputs of other settings are removed first.
"""
import hashlib
import json
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional

from mmseg_hfpl.pseudo_labels.output_guard import UnsafeOutputError

from .stages import StagePlan, check_work_dir, find_stage, load_pipeline

STATE_FILE = 'pipeline.json'
MARKER = '.pipeline_stage.json'
FINGERPRINT_VERSION = 1


def sha1_file(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(payload: dict) -> str:
    text = json.dumps(dict(payload, version=FINGERPRINT_VERSION), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def write_json(path: str, data: dict) -> None:
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def final_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine saved last in ``work_dir`` (its ``last_checkpoint`` file)."""
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{work_dir} holds no last_checkpoint: the training saved none')
    with open(path) as f:
        ckpt = f.read().strip()
    if not osp.isabs(ckpt) and not osp.isfile(ckpt):
        ckpt = osp.join(work_dir, osp.basename(ckpt))
    return ckpt


def log_metrics(text: str) -> Optional[dict]:
    """J / F / J&F of the last evaluation line (``... J: .. F: .. J&F: ..``) of a tool's log."""
    lines = [ln for ln in text.splitlines() if 'J&F:' in ln]
    if not lines:
        return None
    return {k: float(v) for k, v in re.findall(r'\b(J|F|J&F): ([0-9.]+)', lines[-1])}


def scored_split(cfg, kind: str) -> Optional[dict]:
    """What a training (its validation) or test stage is scored on: the loader and its
    ``ann_file``."""
    loader = 'val_dataloader' if kind == 'train' else 'test_dataloader'
    dataset = (cfg.get(loader) or {}).get('dataset') or {}
    if not dataset:
        return None
    return dict(set=f"{loader} ({dataset.get('ann_file') or dataset.get('type')})")


def stage_metrics(stage, out_dir: str, log_text: str,
                  scored_on: Optional[dict] = None) -> dict:
    """``{row name: {J, F, J&F, how, ...}}`` of a finished stage: the ``metrics.json`` the
    pseudo-label tools write, the last evaluation of a training / test log."""
    if stage.kind in ('pseudo_labels', 'refine'):
        metrics = read_json(osp.join(out_dir, 'metrics.json')) or {}
        rows = {k: v for k, v in metrics.items()
                if isinstance(v, dict) and {'J', 'F'} & set(v)}
        if 'scored_on' in metrics:
            for row in rows.values():
                row.setdefault('scored_on', metrics['scored_on'])
        return rows
    found = log_metrics(log_text)
    if found is None:
        return {}
    how = 'end-of-training validation' if stage.kind == 'train' else 'test'
    if stage.kind == 'test':
        how = ' + '.join(['test'] + (['multi-scale + flip'] if stage.args.get('tta') else [])
                         + (['dense CRF'] if 'test_crf' in str(stage.cfg_options) else []))
    return {stage.kind: dict(found, how=how,
                             **({'scored_on': scored_on} if scored_on else {}))}


def run_streamed(cmd: List[str], log_path: str, env: dict) -> tuple:
    """Run ``cmd``, its output both to this process's stdout and to ``log_path``; returns
    (exit code, the output text, peak RSS in MiB of the stage's largest process)."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    chunks = []
    with open(log_path, 'ab') as log:
        log.write(f'\n$ {" ".join(cmd)}\n'.encode())
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        while True:
            chunk = proc.stdout.read1(1 << 14)
            if not chunk:
                break
            chunks.append(chunk)
            log.write(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss: KiB on Linux; of the stage's process or the largest of its reaped children
    return proc.returncode, b''.join(chunks).decode(errors='replace'), usage.ru_maxrss / 1024


class Pipeline:
    """A pipeline config bound to a work dir (see ``tools/run_pipeline.py``)."""

    def __init__(self, config: str, work_dir: Optional[str] = None, gpus: int = 1,
                 cfg_options: Optional[dict] = None, device: Optional[str] = None):
        self.config = config
        self.pcfg, self.stages = load_pipeline(config, cfg_options)
        self.work_dir = work_dir or self.pcfg.get('work_dir') or osp.join(
            'work_dirs', 'pipelines', osp.splitext(osp.basename(config))[0])
        if device is None:
            import torch
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        self.plan = StagePlan(self.pcfg, self.stages, self.work_dir, gpus=gpus, device=device)
        self.state_path = osp.join(self.work_dir, STATE_FILE)

    def log(self, message: str) -> None:
        print(f'[pipeline] {message}', flush=True)

    def load_state(self) -> dict:
        state = read_json(self.state_path) or {}
        state.setdefault('stages', {})
        return state

    def run(self, start: Optional[str] = None, stop: Optional[str] = None) -> dict:
        first = find_stage(self.stages, start, '--from') or 0
        last = find_stage(self.stages, stop, '--to')
        last = len(self.stages) - 1 if last is None else last
        check_work_dir(self.work_dir, [self.plan.config(s) for s in self.stages],
                       [self.plan.out_dir(s) for s in self.stages])
        os.makedirs(self.work_dir, exist_ok=True)
        state = self.load_state()
        state.update(pipeline=self.config, work_dir=self.work_dir,
                     order=[s.name for s in self.stages])
        fingerprints: Dict[str, str] = {}
        checkpoints: Dict[str, str] = {}
        hashes: Dict[str, str] = {}
        n = len(self.stages)
        for stage in self.stages:
            k = stage.index + 1
            record = state['stages'].get(stage.name)
            if stage.index < first:  # --from: the earlier stages are taken as they are
                if not record or record.get('status') != 'done':
                    raise RuntimeError(f'--from {start}: stage {stage.name!r} before it has not '
                                       f'finished in {self.work_dir}')
                fingerprints[stage.name] = record['fingerprint']
                self._outputs(stage, record, checkpoints, hashes)
                self.log(f'stage {k}/{n} {stage.name}: taken as it is (before --from {start})')
                continue
            if stage.index > last:
                break
            payload = self.plan.fingerprint_payload(stage, fingerprints, hashes)
            fp = fingerprint(payload)
            fingerprints[stage.name] = fp
            forced = start is not None and stage.index == first
            if record and record.get('status') == 'done' and record.get('fingerprint') == fp \
                    and not forced and self._outputs_exist(stage, record):
                self.log(f'stage {k}/{n} {stage.name}: up to date (fingerprint {fp}), skipped')
                self._outputs(stage, record, checkpoints, hashes)
                continue
            record = self._run_stage(stage, k, n, fp, checkpoints, forced)
            state['stages'][stage.name] = record
            write_json(self.state_path, state)  # only a finished stage is recorded
            self._outputs(stage, record, checkpoints, hashes)
        from .report import write_report
        write_report(self.work_dir, self.plan, state)
        self.log(f'done: {osp.join(self.work_dir, "report.md")}')
        return state

    def _outputs_exist(self, stage, record) -> bool:
        ckpt = record.get('outputs', {}).get('checkpoint')
        return osp.isdir(self.plan.out_dir(stage)) and (ckpt is None or osp.isfile(ckpt))

    def _outputs(self, stage, record, checkpoints, hashes) -> None:
        ckpt = record.get('outputs', {}).get('checkpoint')
        if ckpt:
            checkpoints[stage.name] = ckpt
            hashes[stage.name] = sha1_file(ckpt)  # a replaced checkpoint reruns what reads it

    def _run_stage(self, stage, k: int, n: int, fp: str, checkpoints, forced: bool) -> dict:
        out = self.plan.out_dir(stage)
        marker = read_json(osp.join(out, MARKER))
        resume = False
        if osp.isdir(out) and not marker and os.listdir(out):
            raise UnsafeOutputError(
                f'stage {k}/{n} {stage.name}: {out!r} holds files that this pipeline did not '
                f'write (no {MARKER}): they are never removed. Choose another --work-dir.')
        if osp.isdir(out) and (forced or not marker or marker.get('fingerprint') != fp):
            why = 'forced by --from' if forced else 'made with other settings'
            self.log(f'stage {k}/{n} {stage.name}: removing its outputs ({why})')
            shutil.rmtree(out)
        elif osp.isdir(out):
            resume = stage.kind == 'train' and osp.isfile(osp.join(out, 'last_checkpoint'))
            self.log(f'stage {k}/{n} {stage.name}: continuing an unfinished run'
                     + (' (--resume from its last checkpoint)' if resume else ''))
        os.makedirs(out, exist_ok=True)
        write_json(osp.join(out, MARKER), dict(fingerprint=fp))
        self.plan.port = int(os.environ.get('PORT', 0)) or free_port()  # one per launch
        cmd = self.plan.command(stage, checkpoints, resume=resume)
        self.log(f'stage {k}/{n} {stage.name} ({stage.kind}): running (fingerprint {fp})\n'
                 f'[pipeline]   {" ".join(cmd)}')
        start = time.time()
        env = dict(os.environ)
        code, text, peak = run_streamed(cmd, osp.join(self.work_dir, 'logs',
                                                       f'{stage.name}.log'), env)
        wall = time.time() - start
        if code != 0:
            raise RuntimeError(f'stage {k}/{n} {stage.name} failed (exit code {code}); its '
                               f'output: {osp.join(self.work_dir, "logs", stage.name + ".log")}')
        outputs = dict(dir=out)
        if stage.kind == 'train':
            outputs['checkpoint'] = final_checkpoint(out)
        metrics = stage_metrics(stage, out, text,
                                scored_split(self.plan.config(stage), stage.kind))
        self.log(f'stage {k}/{n} {stage.name}: finished in {wall:.1f} s, peak RSS '
                 f'{peak:.0f} MiB')
        return dict(index=stage.index, kind=stage.kind, status='done', fingerprint=fp,
                    command=cmd, started=time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start)),
                    wall_s=round(wall, 2), peak_rss_mib=round(peak, 1), outputs=outputs,
                    metrics=metrics)
