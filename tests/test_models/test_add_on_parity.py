"""The ``add_on`` interface changes no number: every add-on config (and its baseline) gives, on
fixed inputs, the training losses the code gave before the interface existed.

``add_on_losses_c0d23d1.json`` holds the losses of :func:`losses_of` computed by commit c0d23d1,
where the add-on was still given per head (``loss_decode`` entries with ``loss_weight = 1 -
lambda`` for CAM / SIPE / MCTformer, ``loss_isl`` / ``loss_fsl`` keys for SEAM / PMM /
Spatial-BCE); it was written by running this file as a script on that commit
(``python tests/test_models/test_add_on_parity.py``). Each case builds the config's model (its
heads, losses and add-on; the ResNets narrowed as the distributed test does, no pretrained
weights), draws a fixed batch of 2 images with fixed labels, and takes one ``model.loss`` in
training mode from a fixed seed (dropout and ISL's draws included); Spatial-BCE in a network and
in a threshold iteration.
"""
import json
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GOLDEN = osp.join(ROOT, 'tests', 'data', 'add_on_losses_c0d23d1.json')
SIZE = 48
R38 = {'model.backbone.base_channels': 8}
SEAM = dict(R38, **{'model.decode_head.in_channels': (64, 128, 512),
                    'model.decode_head.channels': 512})
SIPE = {'model.backbone.base_channels': 16,
        'model.decode_head.in_channels': (64, 128, 256, 512), 'model.decode_head.channels': 512}
SBCE = dict(R38, **{'model.decode_head.in_channels': 512,
                    'model.decode_head.fg_prior': dict(file=None, default=0.2)})
EFFNET = {'size': 96}  # EfficientNet (stride 8 / 16): 12 x 12 SEAM CAMs, 6 x 6 plain CAMs
TINY = {}
# config: (narrowing options, Spatial-BCE iterations (None: not iteration-dependent))
CASES = {
    'configs/cam/cam_r18_demo_synthetic.py': (TINY, None),
    'configs/hfpl/demo_synthetic.py': (TINY, None),
    'configs/hfpl/synthetic/isl_only.py': (TINY, None),
    'configs/hfpl/synthetic/fsl_only.py': (TINY, None),
    'configs/hfpl/synthetic/multinomial.py': (TINY, None),
    'configs/cam/cam_effnet_msrc.py': (EFFNET, None),
    'configs/hfpl/msrc/cam_effnet_msrc_isl.py': (EFFNET, None),
    'configs/hfpl/msrc/cam_effnet_msrc_fsl.py': (EFFNET, None),
    'configs/hfpl/msrc/cam_effnet_msrc_isl_fsl.py': (EFFNET, None),
    'configs/hfpl/msrc/cam_effnet_msrc_multinomial.py': (EFFNET, None),
    'configs/seam/seam_effnet_msrc.py': (EFFNET, None),
    'configs/hfpl/msrc/seam_effnet_msrc_isl.py': (EFFNET, None),
    'configs/hfpl/msrc/seam_effnet_msrc_fsl.py': (EFFNET, None),
    'configs/hfpl/msrc/seam_effnet_msrc_isl_fsl.py': (EFFNET, None),
    'configs/hfpl/msrc/seam_effnet_msrc_multinomial.py': (EFFNET, None),
    'configs/seam/seam_r38tiny_synthetic.py': (TINY, None),
    'configs/hfpl/seam_synthetic.py': (TINY, None),
    'configs/seam/seam_r38_voc.py': (SEAM, None),
    'configs/hfpl/seam_voc.py': (SEAM, None),
    'configs/hfpl/seam_coco.py': (SEAM, None),
    'configs/hfpl/seam_coco_16ep.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_fsl_binomial.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_fsl_gate_b.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_fsl_multinomial.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_isl_binomial.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_isl_lambda1.py': (SEAM, None),
    'configs/hfpl/seam_ablations/seam_voc_isl_multinomial.py': (SEAM, None),
    'configs/pmm/pmm-a_r38tiny_synthetic.py': (TINY, None),
    'configs/hfpl/pmm_synthetic.py': (TINY, None),
    'configs/pmm/pmm-a_r38_voc.py': (SEAM, None),
    'configs/hfpl/pmm_voc.py': (SEAM, None),
    'configs/sipe/sipe_r18tiny_synthetic.py': (TINY, None),
    'configs/hfpl/sipe_synthetic.py': (TINY, None),
    'configs/sipe/sipe_r50_voc.py': (SIPE, None),
    'configs/hfpl/sipe_voc.py': (SIPE, None),
    'configs/mctformer/mctformer-v2_vit-tiny_synthetic.py': (TINY, None),
    'configs/hfpl/mctformer_synthetic.py': (TINY, None),
    'configs/mctformer/mctformer-v2_deit-s_voc.py': (TINY, None),
    'configs/hfpl/mctformer_voc.py': (TINY, None),
    'configs/spatial_bce/spatial-bce_r38tiny_synthetic.py': (TINY, (0, 99)),
    'configs/hfpl/spatial_bce_synthetic.py': (TINY, (0, 99)),
    'configs/spatial_bce/spatial-bce_r38_voc.py': (SBCE, (0, 99)),
    'configs/hfpl/spatial_bce_voc.py': (SBCE, (0, 99)),
    'configs/hfpl/spatial_bce_voc_isl.py': (SBCE, (0, 99)),
    'configs/hfpl/spatial_bce_voc_fsl.py': (SBCE, (0, 99)),
}


def build_model(config: str, options: dict, size: int):
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmseg.registry import MODELS
    from mmengine.registry import init_default_scope
    import mmseg_hfpl  # noqa: F401  registers the modules
    init_default_scope('mmseg')
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict({'model.backbone.init_cfg': None, **options})
    if isinstance(cfg.model.backbone.get('pretrained'), str):  # a checkpoint file
        cfg.model.backbone.pretrained = None
    cfg.model.data_preprocessor.size = (size, size)
    torch.manual_seed(0)
    return revert_sync_batchnorm(MODELS.build(cfg.model)).train()


def fixed_batch(model, size: int):
    from mmseg.structures import SegDataSample
    num_fg = model.decode_head.num_classes - 1
    gen = torch.Generator().manual_seed(1)
    samples, images = [], []
    for i in range(2):
        label = torch.zeros(num_fg)
        label[[i, (3 * i + 2) % num_fg]] = 1  # two classes per image
        s = SegDataSample(metainfo=dict(img_path=f'/none/JPEGImages/img{i}.jpg',
                                        img_shape=(size, size), ori_shape=(size, size)))
        s.gt_img_label = label
        samples.append(s)
        blobs = torch.rand(1, 3, 4, 4, generator=gen)  # smooth colour regions with edges
        image = torch.nn.functional.interpolate(blobs, size=(size, size), mode='nearest')[0]
        images.append((image * 255).round())
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    return data['inputs'], data['data_samples']


def losses_of(config: str) -> dict:
    """``{iteration: {loss name: value}}`` of one ``model.loss`` on the fixed batch."""
    from mmengine.logging import MessageHub
    options, iterations = CASES[config]
    options = dict(options)
    size = options.pop('size', SIZE)
    model = build_model(config, options, size)
    inputs, samples = fixed_batch(model, size)
    out = {}
    for it in iterations or (0, ):
        MessageHub.get_current_instance().update_info('iter', it)
        torch.manual_seed(2)
        losses = model.loss(inputs, samples)
        out[str(it)] = {k: float(v.detach()) for k, v in sorted(losses.items())}
    return out


def golden() -> dict:
    with open(GOLDEN) as f:
        return json.load(f)


@pytest.mark.parametrize('config', sorted(CASES))
def test_losses_equal_the_previous_arithmetic(config):
    expected = golden()[config]
    got = losses_of(config)
    assert got.keys() == expected.keys()
    for it in expected:
        assert got[it].keys() == expected[it].keys(), (config, it)
        for name, value in expected[it].items():
            assert got[it][name] == pytest.approx(value, rel=1e-5, abs=1e-7), (config, it, name)


def test_the_golden_file_covers_every_add_on_config_and_the_add_on_is_active():
    import glob
    data = golden()
    hfpl = {osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs/hfpl/**/*.py'),
                                                   recursive=True)}
    assert hfpl <= set(data)
    for config in hfpl:  # every add-on config logs an ISL or FSL term that is not zero
        terms = data[config]['0']
        assert any(k.endswith(('loss_isl', 'loss_fsl')) and v != 0 for k, v in terms.items()), \
            config


if __name__ == '__main__':  # writes the golden file from the code of this checkout
    results = {}
    for config in sorted(CASES):
        results[config] = losses_of(config)
        print(config, results[config], flush=True)
    out = sys.argv[1] if len(sys.argv) > 1 else GOLDEN
    with open(out, 'w') as f:
        json.dump(results, f, indent=1, sort_keys=True)
