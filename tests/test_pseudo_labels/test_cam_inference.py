import numpy as np
import pytest
import torch

from mmseg_hfpl.pseudo_labels import labels_from_cams, load_cams, multi_scale_cams, save_cams

from ..test_models.test_cam_segmentor import build


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    model = build().eval()
    with torch.no_grad():  # scores of order 1, so the 1e-5 of eq. 4 is negligible
        model.decode_head.conv_seg.weight.mul_(100)
    return model


def _image(seed=0, h=40, w=52):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_single_scale_equals_max_normalised_scores(model):
    image = _image()
    label = np.array([1, 0, 1], np.float32)
    cams, classes = multi_scale_cams(model, image, label, scales=(1.0, ), flip=False)
    assert classes.tolist() == [1, 3] and cams.shape == (2, 40, 52)
    data = model.data_preprocessor(dict(inputs=[torch.from_numpy(image).permute(2, 0, 1)]),
                                   False)
    with torch.no_grad():
        scores = model.cam_scores(data['inputs'], [dict(img_shape=(40, 52))])[0, [0, 2]]
    r = scores.clamp(min=0)
    r = r / (r.flatten(1).max(1)[0][:, None, None] + 1e-5)
    assert np.allclose(cams, r.numpy(), atol=1e-5)
    assert np.allclose(cams.reshape(2, -1).max(1), 1, atol=1e-4)  # eq. 4: peaks at 1


def test_flip_aggregation_is_mirror_symmetric(model):
    image = _image(1)
    label = np.array([0, 1, 1], np.float32)
    cams, _ = multi_scale_cams(model, image, label, scales=(1.0, 0.5), flip=True)
    mirrored, _ = multi_scale_cams(model, image[:, ::-1], label, scales=(1.0, 0.5), flip=True)
    assert np.allclose(cams, mirrored[:, :, ::-1], atol=1e-5)


def test_repeated_scale_is_absorbed_by_the_normalisation(model):
    image = _image(2)
    label = np.array([1, 1, 0], np.float32)
    once, _ = multi_scale_cams(model, image, label, scales=(1.0, ), flip=False)
    twice, _ = multi_scale_cams(model, image, label, scales=(1.0, 1.0), flip=False)
    assert np.allclose(once, twice, atol=1e-4)  # up to the 1e-5 of eq. 4


def test_no_label_gives_no_cams_and_background(model):
    cams, classes = multi_scale_cams(model, _image(), np.zeros(3, np.float32))
    assert cams.shape == (0, 40, 52) and classes.shape == (0, )
    assert (labels_from_cams(cams, classes, 0.3, (40, 52)) == 0).all()


def test_labels_from_cams_hand_made_and_round_trip(tmp_path):
    cams = np.array([[[0.9, 0.2], [0.5, 0.1]], [[0.3, 0.4], [0.6, 0.2]]], np.float32)
    classes = np.array([2, 5])
    assert labels_from_cams(cams, classes, 0.35).tolist() == [[2, 5], [5, 0]]
    path = str(tmp_path / 'a.npz')
    save_cams(path, cams, classes)
    back, cls = load_cams(path)
    assert np.allclose(back, cams, atol=1e-3) and cls.tolist() == [2, 5]  # float16 storage
