"""What made an output directory: a fingerprint per output kind, so that a rerun resumes only the
work of the same settings and never returns labels of other settings as its own."""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, Iterable

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
    directory that holds output files and a different fingerprint, or output files and none,
    raises :class:`StaleOutputError` naming it and what differs, unless ``overwrite`` (then every
    file is made anew). Missing or empty directories, and equal fingerprints, pass (resume).
    """
    if overwrite:
        return
    for directory, fingerprint in fingerprints.items():
        if not osp.isdir(directory):
            continue
        has_outputs = any(f.endswith(tuple(suffixes)) for f in os.listdir(directory))
        if not has_outputs:
            continue
        old = read_fingerprint(directory)
        want = json.loads(json.dumps(dict(fingerprint, version=FINGERPRINT_VERSION)))
        if old == want:
            continue
        why = 'no fingerprint (made by another tool or an older version)' if old is None else \
            f'other settings ({_differences(old, want)})'
        raise StaleOutputError(
            f'{directory} already holds outputs made with {why}; a rerun would mix them with '
            'the new ones. Use --overwrite to make them anew, or another --out.')


def write_fingerprints(fingerprints: Dict[str, dict]) -> None:
    """Write each directory's fingerprint (atomically), before its files are written."""
    for directory, fingerprint in fingerprints.items():
        os.makedirs(directory, exist_ok=True)
        tmp = osp.join(directory, f'{FINGERPRINT_FILE}.tmp{os.getpid()}')
        with open(tmp, 'w') as f:
            json.dump(dict(fingerprint, version=FINGERPRINT_VERSION), f, indent=1,
                      sort_keys=True)
        os.replace(tmp, osp.join(directory, FINGERPRINT_FILE))
