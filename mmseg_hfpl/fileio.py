"""Atomic writes: a file is either its old content or its complete new one, and a failed write
(a full disk, an error while serialising) leaves no temporary file behind."""
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def atomic_path(path: str, suffix: str = '') -> Iterator[str]:
    """Yield a temporary path beside ``path`` (hidden, same directory, ending in ``suffix`` for
    writers that pick the format from the name) to write to; on success it replaces ``path``
    (``os.replace``), on any failure it is removed and ``path`` is left as it was."""
    directory, name = osp.split(path)
    os.makedirs(directory or '.', exist_ok=True)
    tmp = osp.join(directory, f'.{name}.tmp{os.getpid()}{suffix}')
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.lexists(tmp):
            os.remove(tmp)
