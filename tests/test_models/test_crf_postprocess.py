"""Test-time dense CRF of the final segmentor (DenseCRFPostProcessor) and the TTA merge that
keeps its scores (MeanSegTTAModel), against the official final-stage code re-derived here."""
import cv2
import numpy as np
import pydensecrf.densecrf as dcrf
import pytest
import torch
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.structures import SegDataSample
from PIL import Image
from pydensecrf.utils import unary_from_softmax
from torch import nn

from mmseg_hfpl.models import DenseCRFPostProcessor, MeanSegTTAModel
from mmseg_hfpl.pseudo_labels.crf import crf_probabilities

SEAM_CONFIG = 'configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py'
PMM_CONFIG = 'configs/pmm/pspnet_r101-d8_voc12aug-pmm-pseudo.py'
TWIN_CONFIG = 'configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py'


def official_seam_dense_crf(probs, img_chw, n_iters=1):
    """YudeWang/semantic-segmentation-codebase lib/utils/DenseCRF.py:5-39 (= hfpl's), as
    experiment/seamv1-pseudovoc/test.py:91-95 calls it (n_classes = C, n_iters=1)."""
    c, h, w = probs.shape
    img = np.transpose(img_chw, (1, 2, 0)).copy(order='C')
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=3 / 1, compat=3)
    d.addPairwiseBilateral(sxy=32 / 1, srgb=13, rgbim=np.copy(img), compat=10)
    return np.array(d.inference(n_iters), dtype=np.float32).reshape((c, h, w))


def official_pmm_dense_crf(image, probmap, iter_max=10, pos_w=3, pos_xy_std=1, bi_w=4,
                           bi_xy_std=67, bi_rgb_std=3):
    """Eli-YiLi/WSSS_MMSeg mmseg/models/segmentors/encoder_decoder.py:287-305 (DenseCRF with
    its defaults, as aug_test calls it at :321-326)."""
    c, h, w = probmap.shape
    u = np.ascontiguousarray(unary_from_softmax(probmap))
    image = np.ascontiguousarray(image)
    dc = dcrf.DenseCRF2D(w, h, c)
    dc.setUnaryEnergy(u)
    dc.addPairwiseGaussian(sxy=pos_xy_std, compat=pos_w)
    dc.addPairwiseBilateral(sxy=bi_xy_std, srgb=bi_rgb_std, rgbim=image, compat=bi_w)
    return np.array(dc.inference(iter_max)).reshape((c, h, w))


class PassThrough(nn.Module):
    """A 'segmentor' whose test_step returns the samples it is given."""
    out_channels = 3

    def test_step(self, data):
        return data['data_samples'] if isinstance(data, dict) else data


def sample(logits: torch.Tensor, img_path: str) -> SegDataSample:
    s = SegDataSample(seg_logits=PixelData(data=logits.clone()),
                      pred_sem_seg=PixelData(data=logits.argmax(dim=0, keepdim=True)))
    s.set_metainfo(dict(img_path=img_path, ori_shape=tuple(logits.shape[1:])))
    return s


def random_image(path, h=24, w=32, seed=0):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img[..., ::-1])  # stored as RGB = img
    return img


def crf_model(config):
    cfg = Config.fromfile(config)
    assert cfg.test_crf is False  # off by default: tools/test.py CONFIG CKPT scores the network
    return cfg.crf_model


@pytest.mark.parametrize('config', [SEAM_CONFIG, PMM_CONFIG])
def test_crf_prediction_snaps_to_the_colour_edge(config, tmp_path):
    h, w, edge, off = 40, 60, 30, 4
    rng = np.random.default_rng(0)
    img = np.zeros((h, w, 3), np.int64)
    img[:, :edge] = (200, 40, 40)
    img[:, edge:] = (40, 40, 200)
    img = np.clip(img + rng.integers(-10, 11, img.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / 'edge.png'), img[..., ::-1])
    gt = np.zeros((h, w), np.int64)
    gt[:, edge:] = 1
    logits = torch.zeros(2, h, w)  # the predicted boundary 4 px right of the colour edge
    logits[0, :, :edge + off] = 1.0
    logits[1, :, edge + off:] = 1.0
    s = sample(logits, str(tmp_path / 'edge.png'))
    before = (s.pred_sem_seg.data[0].numpy() == gt).mean()
    cfg = dict(crf_model(config))
    cfg.pop('type')
    out = DenseCRFPostProcessor(PassThrough(), **cfg).test_step([s])[0]
    after = (out.pred_sem_seg.data[0].numpy() == gt).mean()
    assert before == pytest.approx(1 - off / w)
    assert after == 1.0
    assert out.seg_logits.data.shape == (2, h, w)
    np.testing.assert_allclose(out.seg_logits.data.exp().sum(0).numpy(), 1.0, atol=1e-5)


def test_seam_settings_and_refinement_equal_the_official_final_stage(tmp_path):
    cfg = crf_model(SEAM_CONFIG)
    # test.py:94 n_iters=1; DenseCRF.py:20 Gaussian (3, 3); :22 bilateral (32, 13, 10)
    assert cfg == dict(type='DenseCRFPostProcessor', image_backend='cv2', workers=0,
                       crf=dict(iterations=1, gaussian=(3, 3), bilateral=(32, 13, 10)))
    assert crf_model(TWIN_CONFIG) == cfg  # the CPU twin of stage 3 uses the same settings
    img = random_image(tmp_path / 'a.png')
    logits = torch.randn(21, 24, 32) * 3
    cfg = dict(cfg)
    cfg.pop('type')
    out = DenseCRFPostProcessor(PassThrough(), **cfg).refine([sample(logits, str(
        tmp_path / 'a.png'))])[0]
    # official: cv2.imread + BGR2RGB (VOCDataset.py:62-66), softmax (test.py:88), dense_crf
    rgb = cv2.cvtColor(cv2.imread(str(tmp_path / 'a.png')), cv2.COLOR_BGR2RGB)
    assert np.array_equal(rgb, img)
    ref = official_seam_dense_crf(logits.softmax(0).numpy(), rgb.transpose(2, 0, 1))
    np.testing.assert_allclose(out.seg_logits.data.exp().numpy(), ref, rtol=1e-5, atol=1e-7)
    assert np.array_equal(out.pred_sem_seg.data[0].numpy(), ref.argmax(0))
    # the wrapper passes its settings to crf_probabilities (with the softmax as the unary)
    direct = crf_probabilities(img, logits.softmax(0).numpy(), normalise=False, **cfg['crf'])
    np.testing.assert_allclose(out.seg_logits.data.exp().numpy(), direct, rtol=1e-5, atol=1e-7)


def test_pmm_settings_and_refinement_equal_the_official_final_stage(tmp_path):
    cfg = crf_model(PMM_CONFIG)
    # encoder_decoder.py:287 DenseCRF(iter_max=10, pos_w=3, pos_xy_std=1, bi_w=4, bi_xy_std=67,
    # bi_rgb_std=3); image: Image.open(filename).convert('RGB') (:323)
    assert cfg == dict(type='DenseCRFPostProcessor', image_backend='pillow', workers=0,
                       crf=dict(iterations=10, gaussian=(1, 3), bilateral=(67, 3, 4)))
    img = np.random.default_rng(1).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / 'b.jpg', quality=90)  # a JPEG: decoded by PIL
    logits = torch.randn(21, 20, 28) * 3
    cfg = dict(cfg)
    cfg.pop('type')
    out = DenseCRFPostProcessor(PassThrough(), **cfg).refine([sample(logits, str(
        tmp_path / 'b.jpg'))])[0]
    ori_img = np.array(Image.open(tmp_path / 'b.jpg').convert('RGB'))
    ref = official_pmm_dense_crf(ori_img, logits.softmax(0).numpy())
    np.testing.assert_allclose(out.seg_logits.data.exp().numpy(), ref, rtol=1e-5, atol=1e-7)
    assert np.array_equal(out.pred_sem_seg.data[0].numpy(), ref.argmax(0))


def test_workers_give_the_in_process_result(tmp_path):
    samples = []
    for i in range(3):
        random_image(tmp_path / f'{i}.png', seed=i)
        samples.append(sample(torch.randn(4, 24, 32, generator=torch.Generator().manual_seed(i)),
                              str(tmp_path / f'{i}.png')))
    crf = dict(iterations=5, gaussian=(3, 3), bilateral=(32, 13, 10))
    serial = DenseCRFPostProcessor(PassThrough(), crf=crf).refine([s.clone() for s in samples])
    parallel = DenseCRFPostProcessor(PassThrough(), crf=crf, workers=2).refine(
        [s.clone() for s in samples])
    for a, b, s in zip(serial, parallel, samples):
        assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
        assert not torch.equal(a.seg_logits.data, s.seg_logits.data)  # refined


@pytest.mark.parametrize('merge', ['logits', 'probs'])
def test_tta_merge_keeps_the_official_merged_scores(merge):
    tta = MeanSegTTAModel(module=PassThrough(), merge=merge)
    views = [sample(torch.randn(3, 5, 7), 'x.png') for _ in range(4)]
    logits = torch.stack([v.seg_logits.data for v in views])
    if merge == 'logits':  # seamv1-pseudovoc/test.py:87-88: softmax of the mean logits
        official = logits.mean(0).softmax(0)
    else:  # WSSS_MMSeg aug_test (:315-319) of inference's softmax (:259)
        official = logits.softmax(1).mean(0)
    merged = tta.merge_preds([views])[0]
    torch.testing.assert_close(merged.seg_logits.data.softmax(0), official)
    assert torch.equal(merged.pred_sem_seg.data[0], official.argmax(0))
    assert merged.img_path == 'x.png'


def test_tta_merge_then_crf_through_test_step(tmp_path):
    """A batch of one image in two views: the CRF refines the merged softmax."""
    random_image(tmp_path / 'a.png')
    views = [sample(torch.randn(3, 24, 32), str(tmp_path / 'a.png')) for _ in range(2)]
    data = dict(inputs=[[None], [None]], data_samples=[[views[0]], [views[1]]])
    crf = dict(iterations=2)
    model = DenseCRFPostProcessor(MeanSegTTAModel(PassThrough(), merge='probs'), crf=crf)
    out = model.test_step(data)
    assert len(out) == 1
    probs = torch.stack([v.seg_logits.data for v in views]).softmax(1).mean(0)
    ref = crf_probabilities(cv2.imread(str(tmp_path / 'a.png'))[..., ::-1].copy(),
                            probs.numpy(), normalise=False, **crf)
    np.testing.assert_allclose(out[0].seg_logits.data.exp().numpy(), ref, rtol=1e-5, atol=1e-7)


def test_checkpoint_loads_into_the_segmentor_inside():
    """mmengine's Runner.load_checkpoint loads into ``model.module`` of a model wrapper."""
    seg = nn.Conv2d(3, 2, 1)
    seg.test_step = lambda data: data
    seg.out_channels = 2
    wrapped = DenseCRFPostProcessor(MeanSegTTAModel(seg))
    assert is_model_wrapper(wrapped) and wrapped.module is seg
    state = {k: torch.full_like(v, 0.5) for k, v in nn.Conv2d(3, 2, 1).state_dict().items()}
    _load_checkpoint_to_model(wrapped.module, dict(state_dict=state), strict=True)
    assert torch.equal(seg.weight, torch.full_like(seg.weight, 0.5))


def test_bad_settings_and_inputs_are_refused(tmp_path):
    with pytest.raises(TypeError, match='MeanSegTTAModel'):
        DenseCRFPostProcessor(SegTTAModel(PassThrough()))
    with pytest.raises(KeyError, match='sxy'):
        DenseCRFPostProcessor(PassThrough(), crf=dict(sxy=3))
    with pytest.raises(ValueError, match='image_backend'):
        DenseCRFPostProcessor(PassThrough(), image_backend='turbojpeg')
    random_image(tmp_path / 'a.png')
    model = DenseCRFPostProcessor(PassThrough())
    with pytest.raises(ValueError, match='a.png.*32x24.*prediction 30x20'):
        model.refine([sample(torch.randn(3, 20, 30), str(tmp_path / 'a.png'))])
    with pytest.raises(FileNotFoundError, match='missing.png'):
        model.refine([sample(torch.randn(3, 20, 30), str(tmp_path / 'missing.png'))])
    with pytest.raises(ValueError, match=r'\(1, 24, 32\)'):
        model.refine([sample(torch.randn(1, 24, 32), str(tmp_path / 'a.png'))])


def test_tta_views_follow_the_official_scales(tmp_path):
    """SEAM / hfpl: cv2.resize(image, None, fx=r, fy=r) (lib/datasets/transform.py:179); PMM:
    mmseg 0.x MultiScaleFlipAug(img_scale=(2048, 512), img_ratios) (test_time_aug.py:60-68)
    rescales with mmcv.imrescale to (int(2048 r), int(512 r)); both with and without flip."""
    import mmcv
    from mmcv.transforms import Compose
    img = np.random.default_rng(0).integers(0, 256, (375, 500, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'v.jpg'), img)
    cv2.imwrite(str(tmp_path / 'v.png'), np.zeros((375, 500), np.uint8))
    ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    official = {
        SEAM_CONFIG: [cv2.resize(img, None, fx=r, fy=r).shape[:2] for r in ratios],
        PMM_CONFIG: [mmcv.imrescale(img, (int(2048 * r), int(512 * r))).shape[:2]
                     for r in ratios]}
    for config, sizes in official.items():
        cfg = Config.fromfile(config)
        out = Compose(cfg.tta_pipeline)(dict(
            img_path=str(tmp_path / 'v.jpg'), seg_map_path=str(tmp_path / 'v.png'),
            reduce_zero_label=False, seg_fields=[]))
        ours = [tuple(x.shape[1:]) for x in out['inputs']]
        assert ours[::2] == ours[1::2]  # each scale unflipped and flipped
        diff = [int(np.abs(np.subtract(o, s)).max()) for o, s in zip(ours[::2], sizes)]
        # cv2 rounds r * side = k + 0.5 half to even, mmcv half up: 1.5 * 375 = 562.5 -> 562 / 563
        assert diff == ([0, 0, 0, 0, 1, 0] if config == SEAM_CONFIG else [0] * 6)
        assert [d.flip for d in out['data_samples']] == [False, True] * len(ratios)
    assert Config.fromfile(SEAM_CONFIG).tta_model == dict(type='MeanSegTTAModel', merge='logits')
    assert Config.fromfile(PMM_CONFIG).tta_model['merge'] == 'probs'
