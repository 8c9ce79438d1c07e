"""COCO annotations -> class-index masks (mmseg_hfpl/datasets/coco_masks.py), against masks
computed by hand from the COCO formats (RLE: column-major runs, 0 first; the compressed string of
cocoapi's maskApi.c rleToString / rleFrString) and hfpl's process_coco.py (polygons filled by
cv2.fillPoly at int32-truncated coordinates, annotations painted in file order)."""
import numpy as np
import pytest

from mmseg_hfpl.datasets.coco_masks import (annotation_mask, category_index_map, decode_rle,
                                            image_labels, paint_class_mask,
                                            rle_counts_from_string)


def test_uncompressed_rle_is_column_major_starting_with_zeros():
    # 3 x 4, counts [1, 2, 3, 6]: flat (column-major) 0 | 1 1 | 0 0 0 | 1 1 1 1 1 1
    expected = np.array([[0, 0, 1, 1],
                         [1, 0, 1, 1],
                         [1, 0, 1, 1]], np.uint8)
    np.testing.assert_array_equal(decode_rle([1, 2, 3, 6], 3, 4), expected)


def test_compressed_rle_string_by_hand():
    # counts [16, 40, 3, 13], encoded by hand with maskApi.c rleToString:
    # 16: low 5 bits 16, rest 0, but bit 0x10 set -> continue: (16|0x20)+48 = '`', then 0 -> '0'
    # 40: low 5 bits 8, rest 1 -> (8|0x20)+48 = 'X', then 1 -> '1'
    # 3 (third count, no delta): '3'
    # 13 - counts[1] = -27: low 5 bits 5, rest -1, bit 0x10 clear -> (5|0x20)+48 = 'U';
    #    then -1: low 5 bits 31, rest -1, bit 0x10 set -> stop: 31+48 = 'O'
    assert rle_counts_from_string('`0X13UO') == [16, 40, 3, 13]
    mask = decode_rle('`0X13UO', 8, 9)  # 72 pixels: flat 16-55 and 59-71 are 1
    expected = np.zeros((8, 9), np.uint8)
    expected[:, 2:7] = 1  # columns 2..6 = flat 16..55
    expected[3:, 7] = 1  # column 7 = flat 56..63: 59..63 -> rows 3..7
    expected[:, 8] = 1  # column 8 = flat 64..71
    np.testing.assert_array_equal(mask, expected)


def test_rle_errors_name_the_problem():
    with pytest.raises(ValueError, match='add up to 11 pixels'):
        decode_rle([1, 2, 8], 3, 4)
    with pytest.raises(ValueError, match='cut off'):
        rle_counts_from_string('X')  # continuation bit on the last character


def test_polygons_truncate_to_int32_and_fill_every_part():
    # hfpl process_coco.py:58-64: np.array(pol, np.int32) (truncation), cv2.fillPoly
    square = [1.9, 1.2, 4.7, 1.2, 4.7, 3.9, 1.9, 3.9]  # -> (1,1) (4,1) (4,3) (1,3)
    single = [6, 0, 6, 0, 6, 0]  # a one-pixel part
    mask = annotation_mask([square, single], 5, 8)
    expected = np.zeros((5, 8), np.uint8)
    expected[1:4, 1:5] = 1  # edges included: rows 1..3, columns 1..4 (rounding: 2..5, 1..4)
    expected[0, 6] = 1
    np.testing.assert_array_equal(mask, expected)


def test_rle_segmentation_size_must_match_the_image():
    with pytest.raises(ValueError, match='differs from the image size'):
        annotation_mask(dict(counts=[12], size=[4, 3]), 3, 4)


def test_category_ids_in_ascending_order_become_1_to_k():
    cats = [dict(id=90, name='toothbrush'), dict(id=1, name='person'), dict(id=13, name='stop')]
    assert category_index_map(cats) == {1: 1, 13: 2, 90: 3}
    with pytest.raises(ValueError, match=r'\[1\] occur more than once'):
        category_index_map([dict(id=1), dict(id=1)])


def _ann(i, cat, seg, area, crowd=0):
    return dict(id=i, image_id=7, category_id=cat, segmentation=seg, area=area, iscrowd=crowd)


def test_painting_order_and_crowd_modes():
    index = {1: 1, 5: 2, 9: 3}
    big = _ann(1, 1, [[0, 0, 5, 0, 5, 3, 0, 3]], 24.0)  # rows 0..3, columns 0..5
    small = _ann(2, 5, [[2, 1, 3, 1, 3, 2, 2, 2]], 4.0)  # rows 1..2, columns 2..3
    # a crowd region (uncompressed RLE) over columns 4..5 of a 4 x 6 image: flat 16..23
    crowd = _ann(3, 9, dict(counts=[16, 8], size=[4, 6]), 8.0, crowd=1)
    later_small = paint_class_mask([big, small], 4, 6, index)
    assert (later_small[1:3, 2:4] == 2).all() and (later_small == 1).sum() == 24 - 4
    later_big = paint_class_mask([small, big], 4, 6, index)  # hfpl: the later one on top
    assert (later_big == 1).all()
    by_area = paint_class_mask([small, big], 4, 6, index, order='area')  # coco2voc
    np.testing.assert_array_equal(by_area, later_small)
    painted = paint_class_mask([big, crowd], 4, 6, index)
    assert (painted[:, 4:] == 3).all() and (painted[:, :4] == 1).all()
    ignored = paint_class_mask([big, crowd], 4, 6, index, crowd='ignore')
    assert (ignored[:, 4:] == 255).all() and (ignored[:, :4] == 1).all()
    np.testing.assert_array_equal(image_labels(ignored, 3), [1, 0, 0])
    np.testing.assert_array_equal(image_labels(painted, 3), [1, 0, 1])
    np.testing.assert_array_equal(image_labels(np.zeros((2, 2), np.uint8), 3), [0, 0, 0])


def test_equal_areas_keep_the_earlier_annotation_as_coco2voc():
    index = {1: 1, 2: 2}
    a = _ann(1, 1, [[0, 0, 2, 0, 2, 2, 0, 2]], 9.0)
    b = _ann(2, 2, [[1, 1, 3, 1, 3, 3, 1, 3]], 9.0)
    mask = paint_class_mask([a, b], 4, 4, index, order='area')
    assert mask[1, 1] == 1 and mask[2, 2] == 1 and mask[3, 3] == 2


def test_unknown_category_names_the_annotation():
    with pytest.raises(ValueError, match='annotation 4: category_id 3'):
        paint_class_mask([_ann(4, 3, [[0, 0, 1, 0, 1, 1]], 1.0)], 2, 2, {1: 1})
