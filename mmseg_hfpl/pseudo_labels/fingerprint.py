"""What made an output directory: a fingerprint per output kind, so that a rerun resumes only the
work of the same settings and never returns labels of other settings as its own."""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional

import torch

FINGERPRINT_FILE = '.fingerprint.json'
FINGERPRINT_VERSION = 1  # bump when the arithmetic of an output changes


class StaleOutputError(RuntimeError):
    """An output directory holds files made with other settings."""


def model_fingerprint(model: torch.nn.Module) -> str:
    """SHA-1 of every parameter and buffer of ``model`` (names, shapes, values): the same for a
    model and its checkpoint wherever it was loaded from, different after any training step."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(t.shape)}:{t.dtype}'.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b'')
    return digest.hexdigest()


def read_fingerprint(directory: str):
    path = osp.join(directory, FINGERPRINT_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _differences(old: dict, new: dict) -> str:
    keys = sorted(set(old) | set(new))
    return ', '.join(f'{k}: {old.get(k)!r} -> {new.get(k)!r}' for k in keys
                     if old.get(k) != new.get(k))


def check_fingerprints(fingerprints: Dict[str, dict], overwrite: bool,
                       suffixes: Iterable[str] = ('.png', '.npz')) -> None:
    """Refuse to add to a directory whose files were made with other settings.

    ``fingerprints`` maps each output directory to the settings that determine its files. A
    directory that holds output files and a different fingerprint raises
    :class:`StaleOutputError` naming it and what differs, unless ``overwrite`` (then every file
    is made anew). One that holds output files and no fingerprint always raises: its files were
    not written by this project (or by a version before fingerprints), and ``overwrite`` never
    replaces those. Missing or empty directories, and equal fingerprints, pass (resume).
    """
    for directory, fingerprint in fingerprints.items():
        if not osp.isdir(directory):
            continue
        has_outputs = any(f.endswith(tuple(suffixes)) for f in os.listdir(directory))
        if not has_outputs:
            continue
        old = read_fingerprint(directory)
        if old is None:
            raise StaleOutputError(
                f'{directory} already holds files with no fingerprint ({FINGERPRINT_FILE}): '
                'they were not written by this project\'s tools (or by a version before '
                'fingerprints), so they are never replaced, --overwrite included. Choose another '
                '--out (a new or empty directory).')
        want = json.loads(json.dumps(dict(fingerprint, version=FINGERPRINT_VERSION)))
        if old == want or overwrite:
            continue
        raise StaleOutputError(
            f'{directory} already holds outputs made with other settings '
            f'({_differences(old, want)}); a rerun would mix them with the new ones. Use '
            '--overwrite to make them anew (it replaces only outputs of this project), or '
            'another --out.')


def write_fingerprints(fingerprints: Dict[str, dict]) -> None:
    """Write each directory's fingerprint (atomically), before its files are written."""
    for directory, fingerprint in fingerprints.items():
        os.makedirs(directory, exist_ok=True)
        tmp = osp.join(directory, f'{FINGERPRINT_FILE}.tmp{os.getpid()}')
        with open(tmp, 'w') as f:
            json.dump(dict(fingerprint, version=FINGERPRINT_VERSION), f, indent=1,
                      sort_keys=True)
        os.replace(tmp, osp.join(directory, FINGERPRINT_FILE))


def _normal(value):
    """JSON's view of a value (tuples as lists), as fingerprints read back from disk."""
    return json.loads(json.dumps(value))


def cams_identity(fingerprint: Optional[dict]) -> Optional[dict]:
    """The CAMs an output was made from: a ``cams/`` fingerprint itself (less its ``kind`` and
    ``version``), else its ``cams`` entry (the label kinds, the random walk, the root record of
    a pseudo-label directory); None when the fingerprint names no CAMs."""
    if not fingerprint:
        return None
    src = fingerprint if fingerprint.get('kind') == 'cams' else fingerprint.get('cams')
    if not isinstance(src, dict):
        return None
    return _normal({k: v for k, v in src.items() if k not in ('kind', 'version')})


def outputs_of_other_cams(out_dir: str, cams: dict) -> List[str]:
    """The sub-directories of ``out_dir`` holding this project's outputs (a fingerprint) that
    were made from other CAMs than ``cams`` (a ``cams/`` fingerprint without kind / version):
    every output kind of an older model or other CAM settings, refine outputs included."""
    if not osp.isdir(out_dir):
        return []
    want = _normal(cams)
    stale = []
    for name in sorted(os.listdir(out_dir)):
        directory = osp.join(out_dir, name)
        fingerprint = read_fingerprint(directory) if osp.isdir(directory) else None
        if fingerprint is not None and cams_identity(fingerprint) != want:
            stale.append(directory)
    return stale


#: what this project writes into its output directories (besides hidden temporary files)
OUTPUT_SUFFIXES = ('.png', '.npz', '.json', '.csv')


def remove_outputs(directory: str) -> List[str]:
    """Delete this project's outputs from ``directory`` (which must carry its fingerprint): its
    output files, temporary files and fingerprint; the directory too once empty. Files of other
    types are left where they are. Returns what was left."""
    if read_fingerprint(directory) is None:
        raise StaleOutputError(f'{directory} has no {FINGERPRINT_FILE}: refusing to delete files '
                               'this project did not write')
    for name in os.listdir(directory):
        path = osp.join(directory, name)
        if osp.isfile(path) and name != FINGERPRINT_FILE and (
                name.endswith(OUTPUT_SUFFIXES) or (name.startswith('.') and '.tmp' in name)):
            os.remove(path)
    os.remove(osp.join(directory, FINGERPRINT_FILE))  # last: an interrupted removal is retried
    left = os.listdir(directory)
    if not left:
        os.rmdir(directory)
    return left


def check_label_cams(label_dir: str, cams_dir: Optional[str] = None) -> None:
    """Refuse training labels made from other CAMs than the ``cams/`` they are paired with.

    ``cams_dir`` defaults to the ``cams/`` beside ``label_dir`` (the layout of
    tools/make_pseudo_labels.py: ``DIR/aff_crf``, ``DIR/ir_label``, ``DIR/aff`` next to
    ``DIR/cams``). Passes when either carries no fingerprint (labels of another origin).

    Raises:
        StaleOutputError: naming both directories and what differs.
    """
    label_dir = osp.normpath(label_dir)
    cams_dir = cams_dir or osp.join(osp.dirname(label_dir), 'cams')
    if osp.realpath(cams_dir) == osp.realpath(label_dir):
        return
    labels, cams = read_fingerprint(label_dir), read_fingerprint(cams_dir)
    if labels is None or cams is None:
        return
    made_from, paired = cams_identity(labels), cams_identity(cams)
    if made_from != paired:
        why = _differences(made_from or {}, paired or {}) if made_from else \
            'the labels name no CAMs'
        raise StaleOutputError(
            f'the labels in {label_dir} were made from other CAMs than those in {cams_dir} '
            f'({why}): the pair is stale. Make the labels anew from these CAMs '
            f'(tools/make_pseudo_labels.py --out {osp.dirname(cams_dir)} with the options that '
            'wrote them, and --overwrite), or point pseudo_label_dir at labels of these CAMs.')
