"""The official augmentations we reproduce, each against a reference re-derived in the test from
the official lines (the official draws with Python's ``random``; the references draw the same
uniform integers / floats from ``np.random``, re-seeded as the transform)."""
import cv2
import numpy as np
import PIL.Image
import pytest

from mmseg_hfpl.datasets import (RandomContainerCrop, RandomHSV, RandomRescale, RandomResizeLong,
                                 pil_resize)


def official_random_crop(image, seg, output_size, randrange):
    """hfpl lib/datasets/transform.py:28-74 (RandomCrop.__call__; IRN misc/imutils.py
    get_random_crop_box + random_crop is the same arithmetic), ``randrange(n)`` uniform on
    range(n); ``image`` normalised (padding 0)."""
    h, w = image.shape[:2]
    ch = min(h, output_size[0])
    cw = min(w, output_size[1])
    h_space = h - output_size[0]
    w_space = w - output_size[1]
    if w_space > 0:
        cont_left = 0
        img_left = randrange(w_space + 1)
    else:
        cont_left = randrange(-w_space + 1)
        img_left = 0
    if h_space > 0:
        cont_top = 0
        img_top = randrange(h_space + 1)
    else:
        cont_top = randrange(-h_space + 1)
        img_top = 0
    img_crop = np.zeros((output_size[0], output_size[1], 3), np.float32)
    img_crop[cont_top:cont_top + ch, cont_left:cont_left + cw] = \
        image[img_top:img_top + ch, img_left:img_left + cw]
    seg_crop = np.ones((output_size[0], output_size[1]), np.float32) * 255
    seg_crop[cont_top:cont_top + ch, cont_left:cont_left + cw] = \
        seg[img_top:img_top + ch, img_left:img_left + cw]
    return img_crop, seg_crop


@pytest.mark.parametrize('shape', [(9, 13), (5, 7), (13, 5), (8, 8)])
def test_container_crop_is_the_official_crop_after_normalisation(shape):
    rng = np.random.RandomState(0)
    mean, std = np.array([103.53, 116.28, 123.675]), np.array([57.375, 57.12, 58.395])
    crop = RandomContainerCrop((8, 8), pad_val=tuple(mean), seg_pad_val=255)
    for seed in range(6):
        img = rng.randint(0, 256, shape + (3, )).astype(np.uint8)
        seg = rng.randint(0, 21, shape).astype(np.uint8)
        np.random.seed(seed)
        out = crop(dict(img=img.copy(), gt_seg_map=seg.copy()))
        np.random.seed(seed)
        ref_img, ref_seg = official_random_crop((img - mean) / std, seg, (8, 8),
                                                lambda n: int(np.random.randint(n)))
        assert out['img'].shape == (8, 8, 3) and out['img_shape'] == (8, 8)
        np.testing.assert_allclose((out['img'] - mean) / std, ref_img, atol=1e-5)
        np.testing.assert_array_equal(out['gt_seg_map'], ref_seg.astype(np.uint8))


def test_container_crop_places_short_sides_uniformly():
    """A 5-high, 10-wide image in a 7 x 7 crop: 3 container offsets vertically (0, 1, 2) and 4
    image offsets horizontally (0-3), all 12 pairs equally likely (mmseg's crop + the
    preprocessor's padding: container offset 0 only)."""
    np.random.seed(1)
    crop = RandomContainerCrop(7)
    img = np.arange(50, dtype=np.uint8).reshape(5, 10, 1).repeat(3, 2) + 1
    counts = {}
    for _ in range(1200):
        out = crop(dict(img=img.copy()))['img'][..., 0]
        rows = np.flatnonzero(out.any(1))
        top, left = rows[0], int(out[rows[0], 0]) - 1  # pixel value = 1 + 10 * row + col
        assert len(rows) == 5 and (out[rows[0]:rows[0] + 5] == img[:, left:left + 7, 0]).all()
        counts[top, left] = counts.get((top, left), 0) + 1
    assert sorted(counts) == [(t, l) for t in range(3) for l in range(4)]
    assert min(counts.values()) > 60 and max(counts.values()) < 140  # 100 expected each


def official_random_hsv(image_rgb, delta_h, delta_s, delta_v):
    """hfpl lib/datasets/transform.py:83-102 (RandomHSV.__call__) with the drawn deltas."""
    hsv = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2HSV)
    h = hsv[:, :, 0].astype(np.int32)
    s = hsv[:, :, 1].astype(np.int32)
    v = hsv[:, :, 2].astype(np.int32)
    h = (h + delta_h) % 180
    s = s + delta_s
    s[s > 255] = 255
    s[s < 0] = 0
    v = v + delta_v
    v[v > 255] = 255
    v[v < 0] = 0
    hsv = np.stack([h, s, v], axis=-1).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.uint8)


def test_random_hsv_is_the_official_jitter():
    rng = np.random.RandomState(0)
    rgb = rng.randint(0, 256, (12, 10, 3)).astype(np.uint8)
    rgb[0, :3] = [[255, 255, 255], [0, 0, 0], [250, 5, 3]]  # clipping and hue wrap-around
    t = RandomHSV(10, 10, 10)
    deltas = set()
    for seed in range(8):
        np.random.seed(seed)
        out = t(dict(img=rgb[..., ::-1].copy()))['img']  # BGR as loaded
        np.random.seed(seed)
        d = [int(np.random.randint(-10, 11)) for _ in range(3)]  # random.randint(-10, 10)
        deltas.add(tuple(d))
        np.testing.assert_array_equal(out[..., ::-1], official_random_hsv(rgb, *d))
    assert len(deltas) == 8 and any(d != (0, 0, 0) for d in deltas)
    with pytest.raises(TypeError, match='uint8'):
        t(dict(img=rgb.astype(np.float32), img_path='x.jpg'))


def test_random_rescale_is_irn_random_scale():
    """IRN misc/imutils.py random_scale + pil_rescale (order 3 image, 0 label)."""
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, (30, 40, 3)).astype(np.uint8)
    seg = rng.randint(0, 21, (30, 40)).astype(np.uint8)
    t = RandomRescale((0.5, 1.5))
    sizes = set()
    for seed in range(6):
        np.random.seed(seed)
        out = t(dict(img=img.copy(), gt_seg_map=seg.copy()))
        np.random.seed(seed)
        scale = 0.5 + np.random.random() * (1.5 - 0.5)
        size = (int(np.round(30 * scale)), int(np.round(40 * scale)))
        ref_img = np.asarray(PIL.Image.fromarray(img).resize(size[::-1], PIL.Image.BICUBIC))
        ref_seg = np.asarray(PIL.Image.fromarray(seg).resize(size[::-1], PIL.Image.NEAREST))
        np.testing.assert_array_equal(out['img'], ref_img)
        np.testing.assert_array_equal(out['gt_seg_map'], ref_seg)
        sizes.add(size)
    assert len(sizes) >= 5 and min(sizes)[0] < 30 < max(sizes)[0]  # shrinks and enlarges


@pytest.mark.parametrize('shape', [(60, 44), (44, 60), (30, 30)])
def test_random_resize_long_is_the_official_pil_bicubic(shape):
    """hfpl / SEAM / psa tool/imutils.py RandomResizeLong: PIL CUBIC (antialiased when
    shrinking), the long side = the drawn integer, the other rounded."""
    rng = np.random.RandomState(0)
    img = rng.randint(0, 256, shape + (3, )).astype(np.uint8)
    t = RandomResizeLong(20, 90)
    for seed in range(6):
        np.random.seed(seed)
        out = t(dict(img=img.copy()))['img']
        np.random.seed(seed)
        target_long = int(np.random.randint(20, 91))  # random.randint(min_long, max_long)
        pil = PIL.Image.fromarray(img)
        w, h = pil.size
        if w < h:
            target_shape = (int(round(w * target_long / h)), target_long)
        else:
            target_shape = (target_long, int(round(h * target_long / w)))
        # official PIL.Image.CUBIC: an alias of BICUBIC (removed in Pillow 10)
        ref = np.asarray(pil.resize(target_shape, resample=PIL.Image.BICUBIC))
        np.testing.assert_array_equal(out, ref)
    # not cv2's bicubic (a = -0.75, no antialiasing) when shrinking
    small = pil_resize(img, (15, 11), 'bicubic')
    assert np.abs(small.astype(int) - cv2.resize(img, (15, 11), interpolation=cv2.INTER_CUBIC)
                  ).max() > 10
