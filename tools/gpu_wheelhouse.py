"""The wheelhouse that ``tools/gpu_bootstrap.sh`` carries to a bare GPU machine.

    python tools/gpu_wheelhouse.py download [DIR]   # here: fetch tools/gpu_wheels.txt into DIR
    python tools/gpu_wheelhouse.py check [DIR]      # is DIR exactly the list, within 64 MiB?
    python tools/gpu_wheelhouse.py files [DIR] --kind wheel|source   # paths, for the bootstrap

``DIR`` defaults to ``.whl`` at the repository root (ignored by git). The machine has Python 3.12
and the packages of ``tools/gpu_preinstalled.txt``; ``check`` verifies that every requirement
(for CPython 3.12 on Linux x86-64, no extras) of every carried package is carried or
preinstalled, from the wheels' ``METADATA`` and the source distributions' requirement files.
Standard library and ``packaging`` only (both machines have them).
"""
import argparse
import email.parser
import os
import os.path as osp
import re
import subprocess
import sys
import tarfile
import zipfile
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LIST = osp.join(ROOT, 'tools', 'gpu_wheels.txt')
PREINSTALLED = osp.join(ROOT, 'tools', 'gpu_preinstalled.txt')
DEFAULT_DIR = osp.join(ROOT, '.whl')
LIMIT_MIB = 64  # what the device call carries from the working tree, all of it together
# the GPU machine's interpreter, for requirement markers
TARGET_ENV = dict(python_version='3.12', python_full_version='3.12.3',
                  implementation_name='cpython', platform_python_implementation='CPython',
                  sys_platform='linux', platform_system='Linux', os_name='posix',
                  platform_machine='x86_64', extra='')
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64')
# a requirement met by another distribution of the same module (OpenMMLab declares the GUI OpenCV)
ALIASES = {'opencv-python': 'opencv-python-headless'}
# carried although the image has the package, for another version
OVERRIDES = {
    'setuptools': 'below 82 for pkg_resources (mmcv setup.py, mmengine mmseg:: configs)',
    'cython': "pydensecrf2's setup.py requires cython==0.29.36",
}


# source distributions whose metadata pip prepares without build isolation (see pip_download)
NO_BUILD_ISOLATION = {'mmcv'}


class Entry(NamedTuple):
    name: str  # canonical (PEP 503)
    version: str
    source: bool  # a source distribution, compiled there

    @property
    def pin(self) -> str:
        return f'{self.name}=={self.version}'


def read_list(path: str = LIST) -> List[Entry]:
    """``NAME==VERSION`` lines (``# source`` marks a source distribution); comments and blank
    lines skipped. A malformed or duplicate line raises ``ValueError`` naming file and line."""
    entries, seen = [], set()
    for lineno, raw in enumerate(open(path), 1):
        line, _, comment = raw.partition('#')
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)', line)
        if not m:
            raise ValueError(f'{path}:{lineno}: expected NAME==VERSION, got {line!r}')
        name = canonicalize_name(m.group(1))
        if name in seen:
            raise ValueError(f'{path}:{lineno}: {name} listed twice')
        seen.add(name)
        entries.append(Entry(name, str(Version(m.group(2))), comment.strip().startswith('source')))
    return entries


def read_preinstalled(path: str = PREINSTALLED) -> Set[str]:
    return {canonicalize_name(ln.strip()) for ln in open(path)
            if ln.strip() and not ln.startswith('#')}


def applicable(requires: Iterable[str]) -> List[Requirement]:
    """The requirements that apply on the GPU machine (markers evaluated there, no extras)."""
    reqs = [Requirement(r) for r in requires]
    return [r for r in reqs if r.marker is None or r.marker.evaluate(TARGET_ENV)]


def unmet(requires: Dict[str, Iterable[str]], entries: List[Entry],
          preinstalled: Set[str]) -> List[str]:
    """For each carried package (name -> its requirement strings), the requirements that are
    neither carried (at a version the specifier allows) nor preinstalled."""
    pinned = {e.name: e.version for e in entries}
    problems = []
    for name, reqs in sorted(requires.items()):
        for req in applicable(reqs):
            dep = canonicalize_name(req.name)
            dep = ALIASES.get(dep, dep)
            if dep in pinned:
                if req.specifier and not req.specifier.contains(pinned[dep], prereleases=True):
                    problems.append(f'{name} requires {req}, the list pins {dep}=={pinned[dep]}')
            elif dep not in preinstalled:
                problems.append(f'{name} requires {req}: neither in {osp.relpath(LIST, ROOT)} '
                                f'nor preinstalled')
    return problems


def _file_entry(filename: str) -> Optional[Tuple[str, str, bool]]:
    """``(name, version, is_source)`` of a wheel or ``.tar.gz`` name, None for other files."""
    try:
        if filename.endswith('.whl'):
            name, version, _, _ = parse_wheel_filename(filename)
            return canonicalize_name(name), str(version), False
        if filename.endswith('.tar.gz'):
            name, version = parse_sdist_filename(filename)
            return canonicalize_name(name), str(version), True
    except ValueError:  # packaging's Invalid*Filename
        pass
    return None


def _wheel_fits(filename: str) -> bool:
    """The wheel installs on CPython 3.12, manylinux x86-64."""
    _, _, _, tags = parse_wheel_filename(filename)
    for tag in tags:
        py = tag.interpreter in ('py3', 'cp312') or (tag.interpreter.startswith('cp3')
                                                     and tag.abi == 'abi3')
        abi = tag.abi in ('none', 'abi3', 'cp312')
        plat = tag.platform == 'any' or (tag.platform.endswith('_x86_64')
                                         and tag.platform.startswith('manylinux'))
        if py and abi and plat:
            return True
    return False


def requires_of(path: str) -> List[str]:
    """Requirement strings of a wheel (``Requires-Dist``) or of a source distribution
    (``Requires-Dist`` of ``PKG-INFO``, else ``requirements/runtime.txt`` as mmcv ships it)."""
    parser = email.parser.HeaderParser()
    if path.endswith('.whl'):
        with zipfile.ZipFile(path) as zf:
            meta = [n for n in zf.namelist() if re.fullmatch(r'[^/]+\.dist-info/METADATA', n)]
            if len(meta) != 1:
                raise ValueError(f'{path}: no single *.dist-info/METADATA')
            return parser.parsestr(zf.read(meta[0]).decode()).get_all('Requires-Dist') or []
    with tarfile.open(path) as tf:
        names = tf.getnames()
        top = names[0].split('/')[0]
        info = parser.parsestr(tf.extractfile(f'{top}/PKG-INFO').read().decode())
        if info.get_all('Requires-Dist'):
            return info.get_all('Requires-Dist')
        runtime = f'{top}/requirements/runtime.txt'
        if runtime in names:
            lines = tf.extractfile(runtime).read().decode().splitlines()
            return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]
    return []


def _listed(filename: str, entries: List[Entry]) -> Optional[Entry]:
    """The entry ``filename`` is the file of, or None."""
    parsed = _file_entry(filename)
    for e in entries:
        if parsed == (e.name, e.version, e.source):
            return e
    return None


def wheelhouse_files(folder: str, entries: List[Entry]) -> Tuple[Dict[str, str], List[str]]:
    """``({name: path}, errors)``: every entry must have exactly one file of its version and
    kind, every file must be listed (two versions of a package stop ``pip install``)."""
    if not osp.isdir(folder):
        return {}, [f'{folder}: no such folder (bash tools/gpu_bootstrap.sh --download)']
    files, errors = {}, []
    for filename in sorted(os.listdir(folder)):
        entry = _listed(filename, entries)
        if entry is None:
            errors.append(f'{osp.join(folder, filename)}: not in {osp.relpath(LIST, ROOT)} '
                          'at this version and kind; remove it')
            continue
        if not entry.source and not _wheel_fits(filename):
            errors.append(f'{filename}: not installable on CPython 3.12, manylinux x86-64')
        if entry.name in files:
            errors.append(f'{entry.pin}: two files, {osp.basename(files[entry.name])} and '
                          f'{filename}')
        files[entry.name] = osp.join(folder, filename)
    for e in entries:
        if e.name not in files:
            kind = 'source distribution' if e.source else 'wheel'
            errors.append(f'{e.pin}: no {kind} in {folder}')
    return files, errors


def folder_mib(folder: str) -> float:
    return sum(osp.getsize(osp.join(folder, f)) for f in os.listdir(folder)) / 2**20


def check(folder: str, entries: Optional[List[Entry]] = None,
          preinstalled: Optional[Set[str]] = None) -> List[str]:
    """All that is wrong with ``folder`` as the wheelhouse (empty when it is right)."""
    entries = read_list() if entries is None else entries
    preinstalled = read_preinstalled() if preinstalled is None else preinstalled
    files, errors = wheelhouse_files(folder, entries)
    if osp.isdir(folder) and folder_mib(folder) > LIMIT_MIB:
        errors.append(f'{folder}: {folder_mib(folder):.1f} MiB, over the {LIMIT_MIB} MiB a '
                      'device call carries')
    requires = {}
    for name, path in files.items():
        try:
            requires[name] = requires_of(path)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, tarfile.TarError) as exc:
            errors.append(f'{path}: unreadable ({exc!r}); download it again')
    return errors + unmet(requires, entries, preinstalled)


def pip_download(entries: List[Entry], folder: str, python: str = sys.executable) -> None:
    """``pip download`` the wheels (CPython 3.12, manylinux x86-64) and the source distributions.
    pip prepares a source distribution's metadata: mmcv's ``setup.py`` imports ``pkg_resources``,
    gone from the setuptools an isolated build would get, so it is prepared without isolation
    (with this interpreter's setuptools); pydensecrf2 declares its build requirements."""
    base = [python, '-m', 'pip', 'download', '--disable-pip-version-check', '--no-deps', '-d',
            folder]
    plat = sum((['--platform', p] for p in PLATFORMS), [])
    cmds = [base + ['--only-binary=:all:', '--python-version', '3.12', '--implementation', 'cp',
                    *plat, *[e.pin for e in entries if not e.source]]]
    for e in entries:
        if e.source:
            isolation = ['--no-build-isolation'] if e.name in NO_BUILD_ISOLATION else []
            cmds.append(base + ['--no-binary=:all:', *isolation, e.pin])
    for cmd in cmds:
        print('+', ' '.join(cmd), flush=True)
        subprocess.run(cmd, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('action', choices=('download', 'check', 'files'))
    parser.add_argument('folder', nargs='?', default=DEFAULT_DIR)
    parser.add_argument('--kind', choices=('wheel', 'source'), help='files: only this kind')
    args = parser.parse_args(argv)
    entries = read_list()
    if args.action == 'files':
        files, errors = wheelhouse_files(args.folder, entries)
        if errors:
            print('\n'.join(errors), file=sys.stderr)
            return 1
        for e in entries:
            if args.kind is None or e.source == (args.kind == 'source'):
                print(files[e.name])
        return 0
    if args.action == 'download':
        os.makedirs(args.folder, exist_ok=True)
        pip_download(entries, args.folder)
        for filename in sorted(os.listdir(args.folder)):  # this folder holds the list alone
            if _listed(filename, entries) is None:
                print(f'removing {filename} (not in the list: an earlier version?)')
                os.remove(osp.join(args.folder, filename))
    errors = check(args.folder, entries)
    if errors:
        print(f'wheelhouse {args.folder}: {len(errors)} problem(s)', file=sys.stderr)
        print('\n'.join(f'  {e}' for e in errors), file=sys.stderr)
        return 1
    print(f'wheelhouse {args.folder}: {len(entries)} packages '
          f'({sum(not e.source for e in entries)} wheels, {sum(e.source for e in entries)} '
          f'source), {folder_mib(args.folder):.1f} MiB (limit {LIMIT_MIB} MiB); every '
          'requirement carried or preinstalled')
    return 0


if __name__ == '__main__':
    sys.exit(main())
