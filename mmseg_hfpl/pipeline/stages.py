"""The stages of a pipeline config and the command each one runs.

A pipeline config (an mmengine config file, see ``configs/pipelines/``) holds ``stages``, a dict
of stage name -> stage, in the order they run. A stage is::

    dict(kind='train' | 'pseudo_labels' | 'refine' | 'test',
         config='configs/...py',     # train: the config to train; others: default the model's
         model='cam',                # pseudo_labels / refine / test: the train stage whose
                                     # config and final checkpoint the tool loads
         inputs=dict(pseudo_label_dir='pseudo_labels.aff_crf'),  # outputs of earlier stages
         args=dict(crf=[4, 24], tta=True),                       # the tool's options
         cfg_options=dict(...))                                  # on the stage's config

``inputs`` name an earlier stage (its checkpoint for a train stage, else its output directory)
or a sub-directory of its outputs (``'pseudo_labels.cams'``); a train stage receives them as
``--cfg-options KEY=PATH``, the other tools as ``--KEY PATH``. No path is written twice: every
output lies in ``<work_dir>/<stage name>``. Pipeline-wide keys: ``data_root`` (every stage's
datasets), ``max_iters`` (caps every train stage: iterations, scheduler end, validation and
checkpoint at the end), ``cfg_options`` (every stage) and ``train_cfg_options`` (every train
stage), nested dicts as any config.
"""
import argparse
import copy
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config, DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = dict(train='train.py', pseudo_labels='make_pseudo_labels.py',
             refine='refine_pseudo_labels.py', test='test.py')
#: kinds whose tool has ``--launcher pytorch`` (the others spread over ``--workers``)
LAUNCHABLE = ('train', 'test', 'pseudo_labels')
#: tool options that change how fast a stage runs, not what it writes
NOT_FINGERPRINTED = ('workers', 'device')
STAGE_KEYS = ('kind', 'config', 'model', 'inputs', 'args', 'cfg_options')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@dataclass
class Stage:
    name: str
    index: int
    kind: str
    config: str
    model: Optional[str] = None
    inputs: Dict[str, str] = field(default_factory=dict)
    args: dict = field(default_factory=dict)
    cfg_options: dict = field(default_factory=dict)


def load_pipeline(path: str, cfg_options: Optional[dict] = None):
    """(pipeline Config, [Stage]) of a pipeline config file, ``cfg_options`` merged; checks
    every stage's keys, kind and references (a clear error naming the stage otherwise)."""
    pcfg = Config.fromfile(path)
    if cfg_options:
        pcfg.merge_from_dict(cfg_options)
    specs = pcfg.get('stages')
    if not isinstance(specs, dict) or not specs:
        raise KeyError(f'{path}: a pipeline config needs `stages`, a dict of name -> stage')
    stages: List[Stage] = []
    for index, (name, spec) in enumerate(specs.items()):
        where = f'{path}: stage {name!r}'
        unknown = set(spec) - set(STAGE_KEYS)
        if unknown:
            raise KeyError(f'{where}: unknown keys {sorted(unknown)}; known: {list(STAGE_KEYS)}')
        kind = spec.get('kind')
        if kind not in TOOLS:
            raise ValueError(f'{where}: kind {kind!r} is not one of {list(TOOLS)}')
        done = {s.name: s for s in stages}
        model = spec.get('model')
        if kind == 'train':
            if model is not None:
                raise KeyError(f'{where}: a train stage has a `config`, not a `model`')
        elif model not in done or done[model].kind != 'train':
            raise KeyError(f'{where}: `model` must name an earlier train stage, got {model!r}')
        config = spec.get('config') or (done[model].config if model else None)
        if not config:
            raise KeyError(f'{where}: no `config`')
        inputs = dict(spec.get('inputs') or {})
        for key, ref in inputs.items():
            if str(ref).split('.')[0] not in done:
                raise KeyError(f'{where}: input {key}={ref!r} names no earlier stage '
                               f'(earlier: {list(done)})')
        stages.append(Stage(name, index, kind, config, model, inputs,
                            dict(spec.get('args') or {}), dict(spec.get('cfg_options') or {})))
    return pcfg, stages


def find_stage(stages: List[Stage], name: Optional[str], option: str) -> Optional[int]:
    if name is None:
        return None
    for stage in stages:
        if stage.name == name:
            return stage.index
    raise KeyError(f'{option} {name!r}: the pipeline has the stages {[s.name for s in stages]}')


def format_value(value) -> str:
    """A value as mmengine's ``DictAction`` reads it back (tuples in (), lists in [])."""
    if isinstance(value, tuple):
        return '(' + ','.join(format_value(v) for v in value) + (',)' if len(value) == 1 else ')')
    if isinstance(value, list):
        return '[' + ','.join(format_value(v) for v in value) + ']'
    return str(value)


def flatten(options: dict, prefix: str = '') -> Dict[str, object]:
    """Nested dict -> ``{dotted.key: value}`` (the form of ``--cfg-options``)."""
    out = {}
    for key, value in options.items():
        dotted = f'{prefix}{key}'
        if isinstance(value, dict) and value:
            out.update(flatten(value, dotted + '.'))
        else:
            out[dotted] = value
    return out


def option_strings(options: Dict[str, object]) -> List[str]:
    return [f'{k}={format_value(v)}' for k, v in options.items()]


def parse_option_strings(strings: List[str]) -> dict:
    """What the tools' ``--cfg-options`` make of ``strings``."""
    if not strings:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction)
    return parser.parse_args(['--o', *strings]).o


def resolved_config(config: str, options: List[str]) -> Config:
    """The stage's config as its tool reads it: the file with the ``--cfg-options`` merged."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'stage config {config!r} does not exist (paths are relative '
                                'to the working directory)')
    cfg = Config.fromfile(config)
    parsed = parse_option_strings(options)
    if parsed:
        cfg.merge_from_dict(parsed)
    return cfg


def data_root_options(cfg: Config, data_root: str) -> Dict[str, str]:
    """``{loader}.dataset.data_root`` for every loader of ``cfg`` that has a dataset."""
    out = {}
    for loader in LOADERS:
        dataset = (cfg.get(loader) or {}).get('dataset')
        if not dataset:
            continue
        if 'data_root' not in dataset:
            raise KeyError(f'data_root: {loader}.dataset of {cfg.filename} names no data_root '
                           '(a wrapped dataset): set it with cfg_options instead')
        out[f'{loader}.dataset.data_root'] = data_root
    return out


def iteration_cap_options(cfg: Config, max_iters: int) -> Dict[str, int]:
    """Train ``max_iters`` iterations: the loop, every scheduler ending later, the validation
    (where there is one) and a checkpoint at the end."""
    out = {'train_cfg.max_iters': max_iters}
    if cfg.get('val_cfg') is not None and (cfg.get('train_cfg') or {}).get('val_interval'):
        out['train_cfg.val_interval'] = max_iters
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for i, scheduler in enumerate(schedulers):
        if scheduler.get('end', 0) > max_iters and not scheduler.get('by_epoch', False):
            out[f'param_scheduler.{i}.end'] = max_iters
    if 'checkpoint' in (cfg.get('default_hooks') or {}):
        out['default_hooks.checkpoint.interval'] = max_iters
    return out


class StagePlan:
    """How each stage of a pipeline runs in ``work_dir``: its output directory, config options
    and command (the inputs as paths, and as stage references for the fingerprint)."""

    def __init__(self, pcfg: Config, stages: List[Stage], work_dir: str, gpus: int = 1,
                 port: int = 29500, device: str = 'cpu', python: str = sys.executable):
        self.pcfg, self.stages, self.work_dir = pcfg, stages, work_dir
        self.gpus, self.port, self.device, self.python = gpus, port, device, python
        self.by_name = {s.name: s for s in stages}
        self._configs: Dict[str, Config] = {}

    def out_dir(self, stage: Stage) -> str:
        return osp.join(self.work_dir, stage.name)

    def input_path(self, ref: str, checkpoints: Dict[str, str]) -> str:
        """``stage`` -> its checkpoint (train) or directory; ``stage.sub`` -> a sub-directory."""
        name, _, sub = str(ref).partition('.')
        upstream = self.by_name[name]
        if upstream.kind == 'train' and not sub:
            if name not in checkpoints:
                raise RuntimeError(f'input {ref!r}: stage {name!r} has no checkpoint yet')
            return checkpoints[name]
        return osp.join(self.out_dir(upstream), sub) if sub else self.out_dir(upstream)

    def options(self, stage: Stage, checkpoints: Optional[Dict[str, str]]) -> Dict[str, object]:
        """The stage's ``--cfg-options``: a model's stage starts from the options its model was
        trained with (the same network and data); a train stage's inputs are options too, as
        paths, or as ``<ref>`` when ``checkpoints`` is None (the fingerprint's form)."""
        if stage.model is not None and stage.config == self.by_name[stage.model].config:
            opts = dict(self.options(self.by_name[stage.model], checkpoints))
        else:
            opts = {}
            if self.pcfg.get('data_root'):
                opts.update(data_root_options(Config.fromfile(stage.config),
                                              self.pcfg.data_root))
            if stage.kind == 'train':
                if self.pcfg.get('max_iters'):
                    opts.update(iteration_cap_options(Config.fromfile(stage.config),
                                                      int(self.pcfg.max_iters)))
                opts.update(flatten(dict(self.pcfg.get('train_cfg_options') or {})))
        if stage.model is None or stage.config != self.by_name[stage.model].config:
            opts.update(flatten(dict(self.pcfg.get('cfg_options') or {})))
        opts.update(flatten(stage.cfg_options))
        if stage.kind == 'train':
            opts.update(self.train_inputs(stage, checkpoints))
        return opts

    def train_inputs(self, stage: Stage, checkpoints: Optional[Dict[str, str]]) -> dict:
        """A train stage's inputs as config options: paths, or ``<ref>`` when ``checkpoints`` is
        None (the fingerprint's form, independent of where the work dir lies)."""
        return {key: (f'<{ref}>' if checkpoints is None else self.input_path(ref, checkpoints))
                for key, ref in stage.inputs.items()}

    def config(self, stage: Stage) -> Config:
        """The stage's config as its tool reads it (inputs as ``<ref>``)."""
        if stage.name not in self._configs:
            opts = self.options(stage, None)
            self._configs[stage.name] = resolved_config(stage.config, option_strings(opts))
        return self._configs[stage.name]

    def config_text(self, stage: Stage) -> str:
        """The stage's resolved config (inputs as references) as canonical text."""
        import json
        return json.dumps(self.config(stage).to_dict(), sort_keys=True, default=str)

    def tool_args(self, stage: Stage) -> List[str]:
        """``stage.args`` as command-line options (``True`` -> a flag, lists -> values)."""
        out = []
        args = dict(stage.args)
        if stage.kind in ('pseudo_labels', 'refine'):
            args.setdefault('device', self.device)
        if self.gpus > 1 and stage.kind not in LAUNCHABLE:
            args.setdefault('workers', self.gpus)
        for key, value in args.items():
            flag = '--' + key.replace('_', '-')
            if value is True:
                out.append(flag)
            elif value is False or value is None:
                continue
            elif isinstance(value, (list, tuple)):
                out += [flag, *[str(v) for v in value]]
            else:
                out += [flag, str(value)]
        return out

    def command(self, stage: Stage, checkpoints: Dict[str, str], resume: bool = False):
        """The stage's command line (a list), the way one would type it."""
        tool = osp.join(ROOT, 'tools', TOOLS[stage.kind])
        rel = osp.relpath(tool)
        tool = rel if not rel.startswith('..') else tool
        distributed = self.gpus > 1 and stage.kind in LAUNCHABLE
        cmd = [self.python]
        if distributed:
            cmd += ['-m', 'torch.distributed.run', f'--nproc_per_node={self.gpus}',
                    f'--master_port={self.port}']
        cmd += [tool, stage.config]
        out = self.out_dir(stage)
        if stage.kind == 'train':
            cmd += ['--work-dir', out] + (['--resume'] if resume else [])
        else:
            cmd.append(checkpoints[stage.model])
            cmd += ['--work-dir' if stage.kind == 'test' else '--out', out]
            for key, ref in stage.inputs.items():
                cmd += ['--' + key.replace('_', '-'), self.input_path(ref, checkpoints)]
        cmd += self.tool_args(stage)
        if distributed:
            cmd += ['--launcher', 'pytorch']
        opts = self.options(stage, checkpoints)
        if opts:
            cmd += ['--cfg-options', *option_strings(opts)]
        return cmd

    def fingerprint_payload(self, stage: Stage, fingerprints: Dict[str, str],
                            checkpoint_hashes: Dict[str, str]) -> dict:
        """What determines a stage's outputs: its kind and tool options, its resolved config,
        and what it reads (the fingerprints of the stages, the content of the checkpoints)."""
        refs = dict(stage.inputs, **({'model': stage.model} if stage.model else {}))
        reads = {}
        for key, ref in refs.items():
            name = str(ref).split('.')[0]
            reads[key] = dict(ref=str(ref), fingerprint=fingerprints[name])
            if self.by_name[name].kind == 'train' and (key == 'model' or '.' not in str(ref)):
                reads[key]['checkpoint_sha1'] = checkpoint_hashes[name]
        args = {k: v for k, v in stage.args.items() if k not in NOT_FINGERPRINTED}
        return dict(kind=stage.kind, args=copy.deepcopy(args), config=stage.config,
                    resolved_config=self.config_text(stage), reads=reads)


def check_work_dir(work_dir: str, configs: List[Config], stage_dirs: List[str] = ()) -> None:
    """The output guard of the pipeline (:func:`mmseg_hfpl.pseudo_labels.check_output_dir`'s
    rule): refuse a work dir that is or lies inside a dataset directory of any stage config, and
    a stage output directory that is, lies inside or contains one, whatever the options say."""
    from mmseg_hfpl.pseudo_labels.output_guard import check_outside, dataset_dirs
    for cfg in configs:
        guarded = dataset_dirs(cfg)
        origin = f' of {cfg.filename}' if getattr(cfg, 'filename', None) else ''
        guarded = [g._replace(origin=g.origin + origin) for g in guarded]
        check_outside(work_dir, [g._replace(contains=False) for g in guarded], '--work-dir')
        for out in stage_dirs:
            check_outside(out, guarded, 'the stage output directory')
