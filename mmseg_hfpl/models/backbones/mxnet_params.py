"""Read MXNet ``.params`` files (NDArray lists) without MXNet, and rename ResNet-38's weights.

File layout (``NDArray::Save`` / ``NDArray::Load`` of MXNet's ``src/ndarray/ndarray.cc``, all
little-endian): ``uint64 0x112`` (list magic), ``uint64`` reserved, ``uint64`` array count, the
arrays, ``uint64`` name count, names as ``uint64`` length + bytes. One array:

- V2 / V3 (``uint32`` magic 0xF993FAC9 / 0xF993FACA): ``int32`` storage type (0 = dense), then
  the shape as ``uint32`` ndim + ``int64`` dims;
- V1 (magic 0xF993FAC8): the shape as ``uint32`` ndim + ``int64`` dims;
- legacy (no magic; the first ``uint32`` is ndim): ``uint32`` dims;

then (if ndim > 0) the context ``int32`` device type + ``int32`` device id, the ``int32`` type
flag (0 float32, 1 float64, 2 float16, 3 uint8, 4 int32, 5 int8, 6 int64) and the raw data.
"""
import re
import struct
from typing import Dict, Optional

import numpy as np
import torch

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8,
          6: np.int64}


class _Reader:

    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f'{self.path}: truncated MXNet .params file (needed {size} bytes at '
                             f'offset {self.pos}, file has {len(self.data)})')
        values = struct.unpack_from('<' + fmt, self.data, self.pos)
        self.pos += size
        return values

    def bytes(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise ValueError(f'{self.path}: truncated MXNet .params file (array data at offset '
                             f'{self.pos} needs {size} bytes)')
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out


def _read_array(r: _Reader, index: int) -> Optional[np.ndarray]:
    magic, = r.take('I')
    if magic in (V2_MAGIC, V3_MAGIC):
        stype, = r.take('i')
        if stype != 0:
            raise ValueError(f'{r.path}: array {index} uses sparse storage (type {stype}); '
                             'only dense arrays are supported')
    if magic in (V1_MAGIC, V2_MAGIC, V3_MAGIC):
        ndim, = r.take('I')
        shape = r.take(f'{ndim}q')
    else:  # legacy: the word read is ndim
        ndim = magic
        if ndim > 32:
            raise ValueError(f'{r.path}: array {index} starts with 0x{magic:08X}, neither an '
                             'NDArray magic number nor a plausible legacy ndim')
        shape = r.take(f'{ndim}I')
    if ndim == 0:
        return None
    r.take('ii')  # context (device type, id)
    flag, = r.take('i')
    if flag not in DTYPES:
        raise ValueError(f'{r.path}: array {index} has unknown type flag {flag}')
    dtype = np.dtype(DTYPES[flag]).newbyteorder('<')
    count = int(np.prod(shape))
    return np.frombuffer(r.bytes(count * dtype.itemsize), dtype=dtype).reshape(shape).copy()


def load_mxnet_params(path: str) -> Dict[str, np.ndarray]:
    """``{name: array}`` of an MXNet ``.params`` file (``arg:`` / ``aux:`` prefixes kept)."""
    with open(path, 'rb') as f:
        r = _Reader(f.read(), path)
    magic, _ = r.take('QQ')
    if magic != LIST_MAGIC:
        raise ValueError(f'{path}: not an MXNet NDArray list (magic 0x{magic:X}, expected '
                         f'0x{LIST_MAGIC:X})')
    count, = r.take('Q')
    arrays = [_read_array(r, i) for i in range(count)]
    num_names, = r.take('Q')
    if num_names != count:
        raise ValueError(f'{path}: {count} arrays but {num_names} names')
    names = [r.bytes(r.take('Q')[0]).decode('utf-8') for _ in range(num_names)]
    if r.pos != len(r.data):
        raise ValueError(f'{path}: {len(r.data) - r.pos} unexpected trailing bytes')
    return {n: a for n, a in zip(names, arrays) if a is not None}


_BN_FIELDS = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
              'moving_var': 'running_var'}
_BLOCK = re.compile(r'^(res|bn)(\d)(a|b(\d+))_(branch\w+?)_(weight|gamma|beta|moving_mean|'
                    r'moving_var)$')
_BN7 = re.compile(r'^bn7_(gamma|beta|moving_mean|moving_var)$')


def resnet38_key(name: str) -> Optional[str]:
    """The :class:`ResNet38d` parameter name of an MXNet ResNet-38 array, or None for the
    ImageNet classifier (``linear1000``). E.g. ``arg:res4b3_branch2a_weight`` ->
    ``b4_3.conv_branch2a.weight``, ``aux:bn2a_branch1_moving_var`` -> ... ``running_var``."""
    base = name.split(':', 1)[-1]
    if base.startswith('linear1000'):
        return None
    if base == 'conv1a_weight':
        return 'conv1a.weight'
    m = _BN7.match(base)
    if m:
        return f'bn7.{_BN_FIELDS[m.group(1)]}'
    m = _BLOCK.match(base)
    if not m:
        raise KeyError(f'unknown ResNet-38 MXNet parameter {name!r}')
    kind, stage, _, index, branch, field = m.groups()
    block = f'b{stage}' if index is None else f'b{stage}_{index}'
    if kind == 'res':
        return f'{block}.conv_{branch}.weight'
    return f'{block}.bn_{branch}.{_BN_FIELDS[field]}'


def resnet38_state_dict(params: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    """Rename the arrays of an MXNet ResNet-38 file to a :class:`ResNet38d` state dict."""
    state = {}
    for name, array in params.items():
        key = resnet38_key(name)
        if key is None:
            continue
        if key in state:
            raise KeyError(f'two MXNet arrays map to {key!r} (one of them is {name!r})')
        state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return state
