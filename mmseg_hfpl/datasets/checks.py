"""Cheap checks of the dataset files that name the offending file.

They run where the files are read: the split file and the image-level labels once when a
dataset is built, the images and masks for every sample (:class:`WSSSVOCDataset` calls them
around its pipeline). Each costs little next to decoding the image: two small reads of the
image file, and a max over the decoded mask.
"""
import os
import os.path as osp
import sys
import tempfile
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image

# the end marker of each format, and how far from the end of the file it is looked for
END_MARKERS = {b'\xff\xd8\xff': (b'\xff\xd9', 'JPEG'), b'\x89PNG': (b'IEND\xaeB`\x82', 'PNG')}
TAIL_BYTES = 4096


class DataFileError(ValueError):
    """A dataset file whose content is unusable (truncated, wrong format or structure, values
    out of range); the message names the file (and the entry)."""


def truncated_image_reason(path: str) -> str:
    """Why the JPEG or PNG at ``path`` is incomplete ('' when it is complete or of another
    format): its end-of-image marker (JPEG ``FFD9``, PNG ``IEND``) is not within the last
    4 KiB. A decoder fills the missing part of a truncated JPEG with grey and only prints
    "Premature end of JPEG file" without a name. (A file with more than 4 KiB of trailing
    data after its end marker is reported too.)"""
    size = osp.getsize(path)
    with open(path, 'rb') as f:
        head = f.read(4)
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    for magic, (marker, kind) in END_MARKERS.items():
        if head.startswith(magic) and marker not in tail:
            return (f'{kind} file is truncated (no end-of-image marker in its last '
                    f'{min(size, TAIL_BYTES)} bytes; {size} bytes in all)')
    return ''


#: libjpeg's warnings about damaged data (it decodes on, filling or shifting blocks)
LIBJPEG_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file')


def corrupt_jpeg_reason(path: str) -> str:
    """Why the JPEG at ``path`` does not decode cleanly ('' when it does, or for another
    format). OpenCV decodes a JPEG whose data is corrupt in the middle, printing only libjpeg's
    nameless "Corrupt JPEG data: ..." line on stderr and returning grey or shifted blocks (PIL
    and torchvision let most such files pass). This decodes the file once with OpenCV while
    file descriptor 2 is captured, and returns the libjpeg lines about damaged data; other
    output is passed on to stderr."""
    with open(path, 'rb') as f:
        data = f.read()
    if not data.startswith(b'\xff\xd8\xff'):
        return ''
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with tempfile.TemporaryFile() as captured:
            os.dup2(captured.fileno(), 2)
            try:
                image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            finally:
                os.dup2(saved, 2)
            captured.seek(0)
            lines = captured.read().decode(errors='replace').splitlines()
    finally:
        os.close(saved)
    damage = [ln.strip() for ln in lines if ln.strip().startswith(LIBJPEG_DAMAGE)]
    other = [ln for ln in lines if ln.strip() and not ln.strip().startswith(LIBJPEG_DAMAGE)]
    if other:
        print('\n'.join(other), file=sys.stderr)
    if image is None:
        return 'JPEG data cannot be decoded'
    if damage:
        return f'JPEG data is corrupt (libjpeg: {"; ".join(damage)})'
    return ''


def check_seg_map(seg_map: np.ndarray, path: str, image_shape: Optional[Tuple[int, int]],
                  num_classes: int, ignore_index: int = 255) -> None:
    """Refuse a loaded mask that is not a single-channel map of class indices of the image's
    size with values in ``0 .. num_classes - 1`` or ``ignore_index``.

    Args:
        seg_map (np.ndarray): the mask as loaded (before any resize or crop).
        path (str): its file, for the message.
        image_shape (tuple, optional): (height, width) of the decoded image (None: not
            compared).
        num_classes (int): classes of the dataset (background included).
        ignore_index (int): the void value. Default: 255.
    """
    if seg_map.ndim != 2:
        raise DataFileError(f'mask {path!r} has shape {seg_map.shape}: a colour (RGB) image? '
                            'Masks must be palette ("P") or single-channel ("L") PNGs of class '
                            'indices (convert colours to indices with the dataset palette)')
    if image_shape is not None and tuple(seg_map.shape) != tuple(image_shape[:2]):
        raise DataFileError(f'mask {path!r} is {seg_map.shape[0]}x{seg_map.shape[1]} (HxW) but '
                            f'its image is {image_shape[0]}x{image_shape[1]}')
    if seg_map.size and int(seg_map.max()) >= num_classes:
        values = np.unique(seg_map[seg_map >= num_classes])
        values = values[values != ignore_index]
        if values.size:
            raise DataFileError(f'mask {path!r} holds values {values.tolist()} beyond the '
                                f'{num_classes} classes of the dataset (0..{num_classes - 1}, '
                                f'{ignore_index} = ignore)')


def read_image(path: str) -> np.ndarray:
    """``cv2.imread(path, IMREAD_COLOR)`` (BGR) that refuses, naming the file, a truncated
    JPEG / PNG (:func:`truncated_image_reason`), a corrupt JPEG (:func:`corrupt_jpeg_reason`)
    and a file that cannot be decoded; for the
    tools that read images outside a dataset pipeline."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} does not exist')
    reason = truncated_image_reason(path) or corrupt_jpeg_reason(path)
    if reason:
        raise DataFileError(f'image {path!r}: {reason}')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise DataFileError(f'image {path!r} cannot be decoded (not an image file?)')
    return image


def image_size(path: str, kind: str) -> Tuple[int, int]:
    """(height, width) of the image file at ``path`` from its header (PIL opens lazily: no
    pixel is decoded); ``kind`` ('image' / 'mask') names it in the error."""
    try:
        with Image.open(path) as img:
            width, height = img.size
    except OSError as err:
        raise DataFileError(f'{kind} {path!r} cannot be read ({err})') from err
    return height, width


def read_mask(path: str, num_classes: int, image_shape: Optional[Tuple[int, int]] = None,
              ignore_index: int = 255) -> np.ndarray:
    """The class-index mask at ``path`` (PIL, palette indices as they are), refused by
    :func:`check_seg_map` (naming the file) unless it is a single-channel map of the image's
    size (when ``image_shape`` is given) with values below ``num_classes`` or
    ``ignore_index``; for the tools that score labels outside a dataset pipeline."""
    try:
        with Image.open(path) as img:
            mask = np.asarray(img)
    except OSError as err:  # missing, truncated or not an image
        raise DataFileError(f'mask {path!r} cannot be read ({err})') from err
    check_seg_map(mask, path, image_shape, num_classes, ignore_index)
    return mask


def read_split(path: str, text: str) -> List[str]:
    """The image names of a split file (one per line, blank lines skipped); refuses a name
    listed twice (it would be trained on twice and written twice)."""
    names = [line.strip() for line in text.splitlines()]
    first, repeated = {}, []
    for lineno, name in enumerate(names, 1):
        if not name:
            continue
        if name in first:
            repeated.append(f'{name!r} (lines {first[name]} and {lineno})')
        else:
            first[name] = lineno
    if repeated:
        more = f' and {len(repeated) - 5} more' if len(repeated) > 5 else ''
        raise DataFileError(f'split file {path!r} lists {len(repeated)} name(s) more than once: '
                            f'{", ".join(repeated[:5])}{more}')
    return list(first)


def no_positive_labels(vectors: Sequence[np.ndarray]) -> bool:
    """True when no image of a split has any foreground class (nothing to learn from)."""
    return bool(vectors) and not any(np.asarray(v).any() for v in vectors)
