"""Every command block of README.md, docs/ and configs/*/README.md runs in a test or, where it
needs data we cannot ship (VOC, COCO, a GPU), names configs that resolve and build in a test;
every relative link and image of those pages resolves; every config folder has a README.md and
a metafile.yml whose configs exist.

A ```bash block is covered in one of these ways:

* ``<!-- tested-by: tests/FILE.py::TEST -->`` just above it: TEST runs it as written (the
  meta-test checks that the test exists and reads the block from this page);
* each of its commands is checked here by kind (:func:`classify`): a training on the embedded
  dataset runs for a few iterations; a config that needs VOC / COCO resolves, every
  ``--cfg-options`` key exists in it, and it is one of the configs ``tests/test_configs.py``
  builds; a checkpoint name matches the config's schedule; every ``--flag`` is in the tool's
  ``--help``; a benchmark runs once at a tiny size; an install command pins what
  ``tools/constraints.txt`` pins; a usage line with placeholders (``CONFIG``, ``[--flag]``)
  has its tool, flags and config checked.
"""
import glob
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
from functools import lru_cache

import pytest
import yaml
from mmengine.config import Config

from .test_configs import CONFIGS
from .test_readme import CAPS, ROOT, doc_files

FENCE = re.compile(r'^```bash\n(.*?)^```', re.S | re.M)
TESTED_BY = re.compile(r'<!-- tested-by: (\S+?)::(\w+) -->')
PLACEHOLDER = re.compile(r'^[A-Z][A-Z_]*$|^<.*>$|^\[.*\]$')
# iteration caps / tiny sizes appended to the documented command (argparse: the last one wins)
BENCHMARK_CAPS = {
    'fsl.py': ['--sizes', '16', '--batch', '1', '--repeats', '1'],
    'boundary_f.py': ['--images', '2', '--workers', '1'],
    'config_memo.py': ['--reads', '2', '--resolves', '1', '--repeats', '1'],
    'tool_process.py': ['--repeats', '1', '--cases', 'torch'],
    'crf.py': ['--images', '2', '--size', '32'],
    'random_walk.py': ['--repeats', '1', '--cases', 'PSA 56x56'],
    'addon_overhead.py': ['--configs', 'mctformer', '--batch', '1', '--warmup', '0',
                          '--steps', '1'],
    'pipeline_cost.py': ['--size', '64', '--r38-width', '8', '--batch', '1', '--repeat', '1',
                         '--warmup', '0', '--stages', 'cam', 'crf', 'aff', 'train_aff'],
}
CONFIG_TOOLS = ('train.py', 'test.py', 'make_pseudo_labels.py', 'refine_pseudo_labels.py')


def bash_blocks():
    """``[(page, line, tested_by, commands)]`` of every ```bash block; ``commands`` are argument
    lists, continuation lines joined and comments dropped."""
    blocks = []
    for page in doc_files():
        text = open(osp.join(ROOT, page)).read()
        for m in FENCE.finditer(text):
            before = text[:m.start()].rstrip().splitlines()[-3:]
            tags = [TESTED_BY.search(ln) for ln in before]
            tag = next((t.groups() for t in tags if t), None)
            blocks.append((page, text[:m.start()].count('\n') + 1, tag,
                           shell_commands(m.group(1))))
    return blocks


def shell_commands(block):
    """The commands of a shell block: continuations joined, comments and here-document bodies
    (``cat > FILE <<'EOF'`` ... ``EOF``) dropped."""
    commands, heredoc = [], None
    for line in block.replace('\\\n', ' ').splitlines():
        if heredoc is not None:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        args = shlex.split(line, comments=True)
        marker = re.search(r"<<-?\s*'?(\w+)'?", line)
        if marker:
            heredoc = marker.group(1)
        if args:
            commands.append(args)
    return commands


BLOCKS = bash_blocks()
TAGGED = [b for b in BLOCKS if b[2]]
UNTAGGED = [(page, line, cmd) for page, line, tag, cmds in BLOCKS if not tag for cmd in cmds]


def strip_env(args):
    """The command without leading ``VAR=value`` assignments."""
    args = list(args)
    while args and re.fullmatch(r'[A-Za-z_]+=.*', args[0]):
        args.pop(0)
    return args


def classify(args):
    """``(kind, target)`` of a documented command."""
    args = strip_env(args)
    if args[0] == 'make':
        return 'make', args[1]
    if args[0] in ('pip', 'mim') or args[:3] == ['python', '-m', 'pip']:
        return 'install', None
    if args[0] == 'bash' and args[1].startswith('tools/') and args[1].endswith('.sh'):
        return ('setup' if args[1] == 'tools/setup_env.sh' else 'launcher'), args[1]
    if args[0].endswith('python') and len(args) > 2 and args[1] == '-m' and args[2] == 'pytest':
        return 'pytest', None
    if args[0].endswith('python') and args[1].startswith('tools/'):
        if args[1].startswith('tools/benchmarks/'):
            return 'benchmark', args[1]
        return 'tool', args[1]
    raise AssertionError(f'unclassified documented command: {shlex.join(args)}')


def is_placeholder(arg):
    return bool(PLACEHOLDER.match(arg))


def flags(args):
    """The ``--flags`` of a command, also those of ``[--flag VALUE]`` synopsis brackets."""
    return [a.strip('[]') for a in args if a.strip('[').startswith('--')]


@lru_cache(None)
def tool_help(tool):
    res = subprocess.run([sys.executable, tool, '--help'], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, f'{tool} --help failed:\n{res.stderr[-2000:]}'
    return res.stdout


def unbracket(args):
    """The command without its optional ``[...]`` synopsis parts."""
    out, depth = [], 0
    for arg in args:
        if depth == 0 and '[' not in arg:
            out.append(arg)
        depth += arg.count('[') - arg.count(']')
    return out


def cfg_options(args):
    """``{key: value}`` of the command's ``--cfg-options`` (until the next ``--flag``)."""
    args = unbracket(args)
    if '--cfg-options' not in args:
        return {}
    out = {}
    for item in args[args.index('--cfg-options') + 1:]:
        if item.startswith('--'):
            break
        key, value = item.split('=', 1)
        out[key] = value
    return out


def has_key(cfg, key):
    """Whether ``key`` (``a.b.0.c``) names an entry of the config: every part but the last
    must exist (a list index within the list); the last may be new only inside a nested dict
    (an argument dict such as ``fg_prior``), never at the top level."""
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    parts = key.split('.')
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, (list, tuple)):
            if not part.isdigit() or int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return last and depth > 0 and isinstance(node, dict)
    return True


@lru_cache(None)
def load(config):
    return Config.fromfile(osp.join(ROOT, config))


def is_synthetic(cfg):
    """Whether a config trains on the embedded dataset (which every test can make)."""
    return 'synthetic_voc' in str(cfg.get('train_dataloader', {}))


def schedule_length(cfg):
    """``('epoch', N)`` or ``('iter', N)``: the name of the last checkpoint of a config."""
    loop = cfg.train_cfg
    if 'max_epochs' in loop and loop.get('type', 'EpochBasedTrainLoop') == 'EpochBasedTrainLoop':
        return 'epoch', loop.max_epochs
    return 'iter', loop.max_iters


def config_args(args):
    """The config paths a command names."""
    return [a for a in strip_env(args) if a.startswith('configs/') and a.endswith('.py')]


def covered_by_tagged(args):
    """Whether the same command (after the environment) appears in a tagged block."""
    norm = strip_env(args)
    return any(strip_env(c) == norm for *_, cmds in TAGGED for c in cmds)


def test_every_block_is_found_and_classified():
    assert len(BLOCKS) >= 20 and len(TAGGED) >= 2
    pages = {page for page, *_ in BLOCKS}
    assert {'README.md', 'docs/en/pipeline.md', 'docs/en/add_on.md', 'docs/en/train_test.md',
            'configs/seam/README.md'} <= pages
    kinds = {classify(cmd)[0] for *_, cmd in UNTAGGED}
    assert {'make', 'install', 'tool', 'launcher', 'benchmark'} <= kinds


@pytest.mark.parametrize('page,line,tag', [(p, ln, t) for p, ln, t, _ in TAGGED],
                         ids=[f'{p}:{ln}' for p, ln, *_ in TAGGED])
def test_tagged_blocks_name_a_test_that_reads_that_page(page, line, tag):
    path, name = tag
    assert osp.isfile(osp.join(ROOT, path)), f'{page}:{line} names {path}, which does not exist'
    source = open(osp.join(ROOT, path)).read()
    assert re.search(rf'^def {name}\(', source, re.M), f'{page}:{line}: {path} has no {name}'
    # the test (or its module's helpers) reads this page, so it runs what the page says
    assert page in source or (page == 'README.md' and "'README.md'" in source), (path, page)


def commands_of(kind):
    return [(p, ln, c) for p, ln, c in UNTAGGED if classify(c)[0] == kind]


def ids(items):
    return [f'{p}:{ln}:{shlex.join(c)[:60]}' for p, ln, c in items]


TOOL_COMMANDS = commands_of('tool') + commands_of('launcher')


@pytest.mark.parametrize('page,line,args', TOOL_COMMANDS, ids=ids(TOOL_COMMANDS))
def test_tool_commands_name_existing_flags_configs_and_keys(page, line, args):
    kind, tool = classify(args)
    where = f'{page}:{line}: {shlex.join(args)}'
    assert osp.isfile(osp.join(ROOT, tool)), where
    if kind == 'tool':
        help_text = tool_help(tool)
        for flag in flags(args):
            assert re.search(rf'(^|[\s\[,]){re.escape(flag)}\b', help_text), \
                f'{where}: {flag} is not an option of {tool}'
    for config in config_args(args):
        assert osp.isfile(osp.join(ROOT, config)), f'{where}: {config} does not exist'
        cfg = load(config)
        if '/studies/' in config:  # tools/run_experiments.py STUDY
            for exp in cfg.experiments:
                if 'pipeline' in exp:  # its options: tests/test_tools/test_run_experiments.py
                    assert osp.isfile(osp.join(ROOT, exp['pipeline'])), f'{where}: {exp}'
                    continue
                exp_cfg = load(exp['config'])
                for option in exp.get('cfg_options', []):  # ['key=value', ...]
                    key = option.split('=', 1)[0]
                    assert has_key(exp_cfg, key), f'{where}: {exp["name"]}: no key {key}'
            continue
        for key in cfg_options(args):
            assert has_key(cfg, key), f'{where}: {config} has no key {key!r}'
        if not is_synthetic(cfg):  # needs VOC / COCO / MSRC: built by tests/test_configs.py
            assert osp.join(ROOT, config) in CONFIGS, f'{where}: {config} is not built in a test'
    # a checkpoint named after the config's work directory is its last one
    for arg in args:
        m = re.fullmatch(r'work_dirs/([^/]+)/(epoch|iter)_(\d+)\.pth', arg)
        named = [c for c in config_args(args) if osp.splitext(osp.basename(c))[0] == (
            m.group(1) if m else None)]
        if m and named:
            assert schedule_length(load(named[0])) == (m.group(2), int(m.group(3))), \
                f'{where}: {arg} is not the last checkpoint of {named[0]}'
    if kind == 'launcher' and args[1].startswith('tools/dist_'):
        config = config_args(args)[0] if config_args(args) else None
        at = 3 if 'train' in args[1] else 4
        if config and len(args) > at and args[at].isdigit():
            total = load(config).get('total_batch_size')
            assert total is None or total % int(args[at]) == 0, where


def is_synopsis(args):
    """A usage line (``tools/test.py CONFIG CHECKPOINT [--show-dir vis]``): its tool, flags and
    config are checked above, the concrete runs are elsewhere."""
    return any(is_placeholder(a) or '[' in a for a in strip_env(args)[2:])


SYNTHETIC_TRAININGS = sorted({
    tuple(strip_env(c)) for p, ln, c in TOOL_COMMANDS
    if classify(c)[1] == 'tools/train.py' and config_args(c) and not is_synopsis(c)
    and is_synthetic(load(config_args(c)[0])) and not covered_by_tagged(c)})


@pytest.mark.parametrize('args', SYNTHETIC_TRAININGS, ids=[a[2] for a in SYNTHETIC_TRAININGS])
def test_trainings_on_the_embedded_data_run(args, synthetic_root, tmp_path):
    """What a documented training on the embedded dataset does, with the iteration caps."""
    for name in ('configs', 'tools'):
        os.symlink(osp.join(ROOT, name), tmp_path / name)
    os.makedirs(tmp_path / 'data')
    os.symlink(synthetic_root, tmp_path / 'data' / 'synthetic_voc')
    args = [sys.executable] + list(args[1:]) + ['--cfg-options', *CAPS]
    res = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'J&F' in res.stdout + res.stderr


def test_tagged_and_synthetic_commands_leave_no_untested_run():
    """A command on the embedded data that is not a training above is in a tagged block."""
    for page, line, args in TOOL_COMMANDS:
        configs = config_args(args)
        if not configs or classify(args)[1] == 'tools/train.py' or is_synopsis(args):
            continue
        if any(is_synthetic(load(c)) for c in configs if '/studies/' not in c):
            assert covered_by_tagged(args), f'{page}:{line}: {shlex.join(args)} runs nowhere'


BENCHMARKS = commands_of('benchmark')


@pytest.mark.parametrize('page,line,args', BENCHMARKS, ids=ids(BENCHMARKS))
def test_benchmarks_run_at_a_tiny_size(page, line, args):
    tool = classify(args)[1]
    caps = BENCHMARK_CAPS[osp.basename(tool)]
    cmd = [sys.executable] + strip_env(args)[1:] + caps
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, f'{shlex.join(cmd)}\n{res.stderr[-3000:]}'
    assert 'AMD' in res.stdout or 'CPU' in res.stdout or res.stdout.count('\n') >= 3, res.stdout


def constraints():
    pins = {}
    for line in open(osp.join(ROOT, 'tools', 'constraints.txt')):
        m = re.match(r'^([A-Za-z0-9_.\-]+)\s*(==|<|>=)', line)
        if m:
            pins[m.group(1).lower()] = line.split('#')[0].strip()
    return pins


INSTALLS = commands_of('install')


@pytest.mark.parametrize('page,line,args', INSTALLS, ids=ids(INSTALLS))
def test_install_commands_pin_what_the_constraints_pin(page, line, args):
    pins = constraints()
    setup_py = open(osp.join(ROOT, 'setup.py')).read()
    setup_sh = open(osp.join(ROOT, 'tools', 'setup_env.sh')).read()
    for arg in args[2:]:
        if arg.startswith('-'):
            continue
        if arg.startswith('.'):  # the package itself, with its extras
            for extra in re.findall(r'\[(\w+)\]', arg):
                assert f"'{extra}':" in setup_py, f'{page}:{line}: no extra {extra!r}'
            continue
        m = re.fullmatch(r'([A-Za-z0-9_.\-]+)(==.*)?', arg)
        assert m, f'{page}:{line}: cannot read {arg!r}'
        name = m.group(1).lower()
        if name == 'openmim':  # the OpenMMLab installer
            continue
        assert name in pins or name in setup_sh or f"'{name}" in setup_py, \
            f'{page}:{line}: {name} is in neither the constraints, the set-up nor setup.py'
        if m.group(2) and name in pins and '==' in pins[name]:
            assert pins[name] == name + m.group(2), f'{page}:{line}: {arg} vs {pins[name]}'


MAKES = commands_of('make')


def make_dry_run(target: str) -> subprocess.CompletedProcess:
    """The commands ``make TARGET`` would run, also when the tests themselves run under
    ``make test`` (a nested make would print its 'Entering directory' lines)."""
    env = {k: v for k, v in os.environ.items() if k not in ('MAKEFLAGS', 'MAKELEVEL', 'MFLAGS')}
    return subprocess.run(['make', '-n', '-B', '--no-print-directory', target], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize('page,line,args', MAKES, ids=ids(MAKES))
def test_make_targets_expand_to_tested_commands(page, line, args):
    res = make_dry_run(args[1])
    assert res.returncode == 0, res.stderr
    for command in res.stdout.splitlines():
        cmd = shlex.split(command)
        if not cmd or cmd[0] == 'echo':
            continue
        kind, target = classify(cmd)
        if kind in ('setup', 'pytest'):
            continue  # the set-up itself; `make test` is this test suite
        assert covered_by_tagged(cmd) or tuple(strip_env(cmd)) in SYNTHETIC_TRAININGS or (
            kind == 'tool' and target == 'tools/train.py'
            and is_synthetic(load(config_args(cmd)[0]))), f'make {args[1]}: {command}'


def test_synthetic_trainings_include_the_make_targets():
    """`make demo-baseline`'s training runs in test_trainings_on_the_embedded_data_run."""
    res = make_dry_run('demo-baseline')
    trains = [tuple(shlex.split(c)) for c in res.stdout.splitlines() if 'tools/train.py' in c]
    assert trains and all(t in SYNTHETIC_TRAININGS for t in trains), trains


LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')


def anchors(page):
    """GitHub's anchors of a page's headings."""
    out = set()
    for line in open(osp.join(ROOT, page)):
        if line.startswith('#'):
            title = line.lstrip('#').strip().lower()
            out.add(re.sub(r'[^\w\- ]', '', title).replace(' ', '-'))
    return out


def test_every_relative_link_and_image_resolves():
    checked, broken = 0, []
    for page in doc_files():
        text = re.sub(r'^```.*?^```', '', open(osp.join(ROOT, page)).read(), flags=re.S | re.M)
        for target in LINK.findall(text):
            if re.match(r'[a-z]+://|mailto:', target):
                continue
            checked += 1
            path, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(ROOT, osp.dirname(page), path)) if path else \
                osp.join(ROOT, page)
            if not osp.exists(full):
                broken.append(f'{page}: {target}')
            elif anchor and full.endswith('.md') and anchor not in anchors(osp.relpath(full,
                                                                                       ROOT)):
                broken.append(f'{page}: {target} (no such heading)')
    assert checked >= 40
    assert not broken, broken


def test_readme_is_short_with_the_two_commands_near_the_top():
    lines = open(osp.join(ROOT, 'README.md')).read().splitlines()
    assert len(lines) <= 250
    top = '\n'.join(lines[:60])
    assert 'make demo' in top and 'make test' in top and '**Status**' in top


METHOD_FOLDERS = sorted(d for d in glob.glob(osp.join(ROOT, 'configs', '*'))
                        if osp.isdir(d) and osp.basename(d) not in ('_base_', 'studies', 'pipelines'))


@pytest.mark.parametrize('folder', METHOD_FOLDERS, ids=[osp.basename(f) for f in METHOD_FOLDERS])
def test_every_config_folder_has_a_readme_and_a_metafile(folder):
    readme = osp.join(folder, 'README.md')
    assert osp.isfile(readme) and open(readme).read().startswith('# ')
    meta = yaml.safe_load(open(osp.join(folder, 'metafile.yml')))
    (collection, ) = meta['Collections']
    assert collection['README'] == osp.relpath(readme, ROOT)
    assert collection['Paper']['Title']
    configs = sorted(osp.relpath(p, ROOT)
                     for p in glob.glob(osp.join(folder, '**', '*.py'), recursive=True))
    listed = [m['Config'] for m in meta['Models']]
    assert sorted(listed) == configs  # every config of the folder, each once
    names = [m['Name'] for m in meta['Models']]
    assert len(set(names)) == len(names)
    text = open(readme).read()
    for model in meta['Models']:
        assert model['In Collection'] == collection['Name']
        assert set(model['Results']) >= {'Task', 'Dataset', 'Metrics'}
        assert 'Weights' in model and model['Weights'] is None  # no trained weights published
        assert osp.basename(model['Config']) in text or osp.dirname(
            osp.relpath(model['Config'], osp.relpath(folder, ROOT))) in text, model['Config']


def committed_means():
    """``{config: {J, F, J&F}}`` of the committed study results whose experiment is the config
    as committed (no ``cfg_options``), mean over the seeds."""
    import csv
    out = {}
    for path in sorted(glob.glob(osp.join(ROOT, 'docs', 'results', '*', 'results.csv'))):
        study = load(f'configs/studies/{osp.basename(osp.dirname(path))}.py')
        plain = {e['name'] for e in study.experiments if not e.get('cfg_options')}
        for row in csv.DictReader(open(path)):
            if row['seed'] == 'mean' and row['experiment'] in plain:
                out.setdefault(row['config'], {k: round(float(row[k]), 2)
                                               for k in ('J', 'F', 'J&F')})
    return out


def test_metafile_metrics_are_the_committed_runner_outputs():
    means = committed_means()
    filled = 0
    for folder in METHOD_FOLDERS:
        for model in yaml.safe_load(open(osp.join(folder, 'metafile.yml')))['Models']:
            metrics = model['Results']['Metrics']
            if metrics:
                filled += 1
                assert metrics == means[model['Config']], model['Name']
            else:
                assert model['Config'] not in means, f'{model["Name"]}: results not listed'
    assert filled >= 5


PAPER = osp.join(ROOT, '..', 'shared', 'paper', 'hfpl-wacv2024.md')


@pytest.mark.skipif(not osp.isfile(PAPER), reason='the paper text is not available')
def test_paper_numbers_in_the_config_readmes_are_the_papers():
    """Every ``a ± b`` of a row labelled with a paper table is in the paper's text."""
    paper = open(PAPER).read().replace('<b>', '').replace('</b>', '')
    paper = re.sub(r'\$\s*\\pm\s*\$|<math>\\pm</math>', '±', paper)
    found = re.findall(r'\d+\.\d\s*±\s*\d+\.\d', paper)
    known = {re.sub(r'\s', '', f) for f in found}
    checked = 0
    for readme in glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')):
        for line in open(readme):
            if line.startswith('| Table'):
                for pair in re.findall(r'\d+\.\d ± \d+\.\d', line):
                    checked += 1
                    assert pair.replace(' ', '') in known, f'{readme}: {pair}'
    assert checked >= 40
