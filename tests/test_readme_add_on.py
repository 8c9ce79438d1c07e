"""docs/en/add_on.md runs as written: the head module and the config are written from the page's
blocks, the page's command trains them, and the losses of the head are eq. 16 + FSL computed
directly. Also the add-on snippet of README.md's quick start (the same as the page's)."""
import importlib
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_hfpl.losses import FeatureSimilarityLoss
from mmseg_hfpl.losses.functional import gap_bce_loss, importance_sampling_loss

from .test_readme import ROOT, readme_block, with_caps


ADD_ON_PAGE = 'docs/en/add_on.md'


def readme_python(marker: str, doc: str = ADD_ON_PAGE) -> str:
    text = open(osp.join(ROOT, doc)).read()
    block = re.search(rf'<!-- {marker}:start -->\s*```python\n(.*?)```\s*<!-- {marker}:end -->',
                      text, re.S)
    assert block, f'{doc} has no {marker} block'
    return block.group(1)


def test_the_add_on_snippet_builds_the_add_on_on_a_cam_head():
    snippet = readme_python('add-on-snippet', 'README.md')
    assert snippet == readme_python('add-on-snippet')  # the quick start shows the page's snippet
    scope = {}
    exec(snippet, scope)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/cam/cam_r18_demo_synthetic.py'))
    cfg.merge_from_dict(dict(model=scope['model']))
    head = MODELS.build(cfg.model.decode_head)
    assert head.add_on.lam == 0.2 and head.add_on.isl.num_samples == 10
    assert head.add_on.fsl.gating == 'max_norm' and float(head.add_on.fsl.mu) == 2.5


def test_own_method_example_trains_and_is_eq16_plus_fsl(synthetic_root, tmp_path):
    shutil.copytree(osp.join(ROOT, 'configs'), tmp_path / 'configs')
    os.symlink(osp.join(ROOT, 'tools'), tmp_path / 'tools')
    os.symlink(sys.prefix, tmp_path / '.venv')
    os.makedirs(tmp_path / 'data')
    os.symlink(synthetic_root, tmp_path / 'data' / 'synthetic_voc')
    (tmp_path / 'my_cam_head.py').write_text(readme_python('own-method-head'))
    config = tmp_path / 'configs' / 'my_method' / 'my_cam_synthetic.py'
    os.makedirs(config.parent)
    config.write_text(readme_python('own-method-config'))
    (command, ) = readme_block('own-method-commands', ADD_ON_PAGE)
    args = with_caps(command)
    env = dict(os.environ)
    while re.fullmatch(r'[A-Z_]+=.*', args[0]):  # leading VAR=value assignments
        key, value = args.pop(0).split('=', 1)
        env[key] = os.pathsep.join(p for p in (value, env.get(key)) if p)
    res = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    line = [ln for ln in log.splitlines() if 'decode.loss_cls: ' in ln][-1]
    for name in ('decode.loss_cls', 'decode.loss_isl', 'decode.loss_fsl', 'J&F'):
        assert f'{name}: ' in log, name
    assert 'decode.loss_isl: ' in line and 'decode.loss_fsl: ' in line

    # the same head in this process: its losses are (1 - 0.2) GAP, 0.2 ISL and FSL
    sys.path.insert(0, str(tmp_path))
    try:
        importlib.import_module('my_cam_head')
        cfg = Config.fromfile(str(config))
    finally:
        sys.path.remove(str(tmp_path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    samples = []
    for label in ([1., 0., 1., 0., 0.], [0., 0., 0., 1., 0.]):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64)))
        s.gt_img_label = torch.tensor(label)
        samples.append(s)
    images = [torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(i)) * 255
              for i in range(2)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    inputs = data['inputs']
    torch.manual_seed(5)
    losses = model.loss(inputs, data['data_samples'])
    label = torch.stack([s.gt_img_label for s in samples])
    torch.manual_seed(5)  # the same dropout mask, then the same ISL draws
    cams = model.decode_head(model.extract_feat(inputs))
    isl = importance_sampling_loss(cams, label, 10, 'binomial')
    torch.testing.assert_close(losses['decode.loss_cls'], 0.8 * gap_bce_loss(cams, label))
    torch.testing.assert_close(losses['decode.loss_isl'], 0.2 * isl)
    fsl = FeatureSimilarityLoss(mu=2.5, sigma=5.0, gating='max_norm', upsample_factor=2)
    rgb = model.rgb_inputs(inputs)
    torch.testing.assert_close(losses['decode.loss_fsl'], fsl(cams, label, image=rgb))
    assert losses['decode.loss_fsl'].item() != 0
