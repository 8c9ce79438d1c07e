"""tools/gpu_bootstrap.sh and its wheelhouse (tools/gpu_wheels.txt) on CPU: the list resolves
against the pins, every requirement is carried or preinstalled on the device image, and the dry
run prints the steps and checks a wheelhouse."""
import importlib.metadata
import io
import os
import os.path as osp
import re
import subprocess
import sys
import tarfile
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import gpu_wheelhouse as wh  # noqa: E402

BOOTSTRAP = osp.join(ROOT, 'tools', 'gpu_bootstrap.sh')


def installed_requires(entries):
    """Requirements of the listed packages installed here at the listed version."""
    out = {}
    for e in entries:
        try:
            dist = importlib.metadata.distribution(e.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version == e.version:
            out[e.name] = dist.requires or []
    return out


def test_list_agrees_with_the_cpu_pins():
    entries = wh.read_list()
    pinned = {e.name: e.version for e in entries}
    compared = []
    for line in open(osp.join(ROOT, 'tools', 'constraints.txt')):
        line = line.split('#')[0].strip()
        if not line:
            continue
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name in pinned:
            assert req.specifier.contains(pinned[name]), (name, str(req.specifier))
            compared.append(name)
    assert {'mmengine', 'mmsegmentation', 'mmpretrain', 'yapf', 'setuptools',
            'pydensecrf2'} <= set(compared)
    setup_env = open(osp.join(ROOT, 'tools', 'setup_env.sh')).read()
    assert f'MMCV_VERSION="{pinned["mmcv"]}"' in setup_env
    assert [e.name for e in entries if e.source] == ['mmcv', 'pydensecrf2']


def test_list_carries_nothing_the_image_has_except_the_overrides():
    pre = wh.read_preinstalled()
    assert {'torch', 'torchvision', 'numpy', 'opencv-python-headless', 'scipy', 'matplotlib',
            'pyyaml', 'rich', 'einops', 'regex', 'packaging', 'cython'} <= pre
    carried = {e.name for e in wh.read_list()}
    assert carried & pre == set(wh.OVERRIDES)


def test_every_requirement_is_carried_or_preinstalled():
    """From the metadata of the OpenMMLab stack installed here at the listed versions (the
    downloaded wheelhouse is checked the same way from its own files below)."""
    entries = wh.read_list()
    requires = installed_requires(entries)
    assert {'mmcv', 'mmengine', 'mmsegmentation', 'mmpretrain'} <= set(requires)
    assert 'yapf' in [Requirement(r).name for r in requires['mmengine']]
    assert wh.unmet(requires, entries, wh.read_preinstalled()) == []
    # a missing requirement and a pin outside a specifier are named
    without_yapf = [e for e in entries if e.name != 'yapf']
    assert any(p.startswith('mmengine requires yapf') and 'neither' in p
               for p in wh.unmet(requires, without_yapf, wh.read_preinstalled()))
    old = [e._replace(version='0.1') if e.name == 'wcwidth' else e for e in entries]
    problems = wh.unmet({'prettytable': ['wcwidth>=0.3.5']}, old, set())
    assert problems == ['prettytable requires wcwidth>=0.3.5, the list pins wcwidth==0.1']


def test_requirements_are_evaluated_for_python_312_on_linux():
    reqs = wh.applicable(['a', 'b; python_version < "3.11"', 'c; sys_platform == "win32"',
                          'd; python_version >= "3.12"', 'e; extra == "tests"'])
    assert [r.name for r in reqs] == ['a', 'd']
    # opencv-python is met by the image's headless build
    assert wh.unmet({'mmengine': ['opencv-python>=3']}, [], {'opencv-python-headless'}) == []


def test_read_list_names_the_bad_line(tmp_path):
    bad = tmp_path / 'wheels.txt'
    bad.write_text('# c\nmmengine==0.10.7\nyapf>=0.40\n')
    with pytest.raises(ValueError, match=r'wheels.txt:3: expected NAME==VERSION'):
        wh.read_list(str(bad))
    bad.write_text('mmengine==0.10.7\nMMEngine==0.10.6\n')
    with pytest.raises(ValueError, match=r'wheels.txt:2: mmengine listed twice'):
        wh.read_list(str(bad))


def fake_wheelhouse(folder, entries, requires):
    """Files named and shaped as pip downloads them, each declaring ``requires[name]``."""
    os.makedirs(folder, exist_ok=True)
    for e in entries:
        reqs = requires.get(e.name, [])
        stem = f'{re.sub("[-.]", "_", e.name)}-{e.version}'
        if e.source:
            path = osp.join(folder, f'{e.name}-{e.version}.tar.gz')
            with tarfile.open(path, 'w:gz') as tf:
                files = {'PKG-INFO': f'Metadata-Version: 2.1\nName: {e.name}\n'}
                if reqs:  # as mmcv: no Requires-Dist, a requirements file
                    files['requirements/runtime.txt'] = '\n'.join(reqs) + '\n'
                for name, text in files.items():
                    info = tarfile.TarInfo(f'{e.name}-{e.version}/{name}')
                    info.size = len(text.encode())
                    tf.addfile(info, io.BytesIO(text.encode()))
        else:
            meta = f'Metadata-Version: 2.1\nName: {e.name}\nVersion: {e.version}\n' + ''.join(
                f'Requires-Dist: {r}\n' for r in reqs)
            with zipfile.ZipFile(osp.join(folder, f'{stem}-py3-none-any.whl'), 'w') as zf:
                zf.writestr(f'{stem}.dist-info/METADATA', meta)


def test_wheelhouse_check(tmp_path, monkeypatch):
    entries = wh.read_list()
    folder = str(tmp_path / 'whl')
    fake_wheelhouse(folder, entries, installed_requires(entries))
    assert wh.check(folder) == []
    assert wh.requires_of(osp.join(folder, 'mmcv-2.1.0.tar.gz'))  # from requirements/runtime.txt
    # a second version, a foreign wheel, a missing package, an unmet requirement, the size
    open(osp.join(folder, 'yapf-0.32.0-py3-none-any.whl'), 'w').close()
    os.rename(osp.join(folder, 'tomli-2.5.0-py3-none-any.whl'),
              osp.join(folder, 'tomli-2.5.0-cp311-cp311-manylinux_2_17_x86_64.whl'))
    os.remove(osp.join(folder, 'addict-2.4.0-py3-none-any.whl'))
    open(osp.join(folder, 'termcolor-3.3.0-py3-none-any.whl'), 'w').close()  # truncated
    fake_wheelhouse(folder, [e for e in entries if e.name == 'ftfy'], {'ftfy': ['blessed']})
    monkeypatch.setattr(wh, 'LIMIT_MIB', 0)
    errors = wh.check(folder)
    assert any('yapf-0.32.0-py3-none-any.whl: not in tools/gpu_wheels.txt' in e
               and e.endswith('remove it') for e in errors)
    assert 'tomli-2.5.0-cp311-cp311-manylinux_2_17_x86_64.whl: not installable on CPython ' \
        '3.12, manylinux x86-64' in errors
    assert 'addict==2.4.0: no wheel in ' + folder in errors
    assert any('termcolor-3.3.0-py3-none-any.whl: unreadable' in e for e in errors)
    assert 'ftfy requires blessed: neither in tools/gpu_wheels.txt nor preinstalled' in errors
    assert any('over the 0 MiB a device call carries' in e for e in errors)
    assert wh.check(str(tmp_path / 'absent'))[0].endswith('no such folder (bash '
                                                          'tools/gpu_bootstrap.sh --download)')


def test_a_wheel_for_another_python_is_refused():
    assert wh._wheel_fits('tomli-2.5.0-cp312-cp312-manylinux2014_x86_64.whl')
    assert wh._wheel_fits('wcwidth-0.9.4-cp310-abi3-manylinux_2_17_x86_64.whl')
    assert wh._wheel_fits('addict-2.4.0-py3-none-any.whl')
    assert not wh._wheel_fits('tomli-2.5.0-cp311-cp311-manylinux2014_x86_64.whl')
    assert not wh._wheel_fits('tomli-2.5.0-cp312-cp312-macosx_11_0_arm64.whl')


def bootstrap(*args, env=None):
    return subprocess.run(['bash', BOOTSTRAP, *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHON=sys.executable, **(env or {})))


def test_dry_run_prints_the_steps_and_checks_the_wheelhouse(tmp_path):
    entries = wh.read_list()
    folder = str(tmp_path / 'whl')
    fake_wheelhouse(folder, entries, installed_requires(entries))
    work = dict(GPU_SITE=str(tmp_path / 'site'), GPU_BUILD=str(tmp_path / 'build'))
    res = bootstrap('--dry-run', '--wheelhouse', folder, env=work)
    assert res.returncode == 0, res.stderr
    assert not osp.exists(work['GPU_SITE']) and not osp.exists(work['GPU_BUILD'])
    log = res.stderr
    assert f'wheelhouse {folder}: {len(entries)} packages' in res.stderr and not res.stdout
    assert f'installing {sum(not e.source for e in entries)} wheels' in log
    assert 'MMCV ops: cpu' in log and 'FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=' in log
    assert 'MMCV_WITH_OPS=1' in log and f'{folder}/pydensecrf2-1.1.tar.gz' in log
    assert 's/-std=c++17/-std=c++20/g' in log
    steps = re.findall(r'\] (checking|installing|pydensecrf2|unpacking|mmcv setup|compiling|'
                       r'importing|tools/gpu_check)', log)
    assert steps == ['checking', 'installing', 'pydensecrf2', 'unpacking', 'mmcv setup',
                     'compiling', 'installing', 'importing', 'tools/gpu_check']
    budget = int(re.search(r'--budget (\d+) ', log).group(1))  # 560 s less the seconds so far
    assert 500 < budget <= 560 and 'dry run: nothing installed or compiled' in log
    # gpu_check arguments after -- follow the defaults
    res = bootstrap('--dry-run', '--wheelhouse', folder, '--cuda-ops', '--', '--iters', '3',
                    env=dict(GPU_DEADLINE='500', MAX_JOBS='7'))
    assert res.returncode == 0, res.stderr
    assert int(re.search(r'--budget (\d+) ', res.stderr).group(1)) <= 500
    assert res.stderr.rstrip().count('--iters 3') == 1
    assert 'MAX_JOBS=7' in res.stderr
    # a wheelhouse with a package missing stops the dry run, naming it
    os.remove(osp.join(folder, 'yapf-0.40.1-py3-none-any.whl'))
    res = bootstrap('--dry-run', '--wheelhouse', folder)
    assert res.returncode == 1 and 'yapf==0.40.1: no wheel in' in res.stderr
    # none yet: the steps, and how to fill it
    res = bootstrap('--dry-run', '--wheelhouse', str(tmp_path / 'none'))
    assert res.returncode == 0 and 'bash tools/gpu_bootstrap.sh --download' in res.stderr
    assert bootstrap('--bogus').returncode == 2


def test_the_real_run_refuses_without_a_wheelhouse(tmp_path):
    res = bootstrap('--wheelhouse', str(tmp_path / 'none'))
    assert res.returncode == 1 and "run 'bash tools/gpu_bootstrap.sh --download'" in res.stderr


@pytest.mark.skipif(not osp.isdir(osp.join(ROOT, '.whl')),
                    reason='no wheelhouse downloaded (bash tools/gpu_bootstrap.sh --download)')
def test_the_downloaded_wheelhouse_is_complete():
    assert wh.check(osp.join(ROOT, '.whl')) == []


def test_readme_gpu_commands_name_existing_scripts_and_the_dry_run_works():
    text = open(osp.join(ROOT, 'docs', 'en', 'installation.md')).read()
    block = re.search(r'<!-- gpu-bootstrap:start -->\s*```bash\n(.*?)```\s*'
                      r'<!-- gpu-bootstrap:end -->', text, re.S)
    assert block, 'docs/en/installation.md has no gpu-bootstrap block'
    commands = [ln.split('#')[0].strip() for ln in block.group(1).splitlines()
                if ln.split('#')[0].strip()]
    assert commands == ['bash tools/gpu_bootstrap.sh --download', 'bash tools/gpu_bootstrap.sh']
    for command in commands:
        assert osp.isfile(osp.join(ROOT, command.split()[1]))
    res = subprocess.run(commands[1].split() + ['--dry-run'], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, PYTHON=sys.executable))
    assert res.returncode == 0, res.stderr
    assert 'dry run: nothing installed or compiled' in res.stderr and '--dry-run' in text
