"""The pipeline configs: every stage config of every pipeline builds (full-size VOC ones:
Config.fromfile with the stage's options + MODELS.build of its model, no dataset needed), the
add-on twins differ from their baselines only by the CAM config and CRF alpha, commands name
their inputs by stage, and the work-dir guard refuses a dataset directory."""
import glob
import os.path as osp

import pytest
from mmseg.registry import MODELS

from mmseg_hfpl.engine.dist import sync_bn_to_bn
from mmseg_hfpl.pipeline import StagePlan, load_pipeline
from mmseg_hfpl.pipeline.runner import Pipeline
from mmseg_hfpl.pipeline.stages import option_strings, resolved_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINES = sorted(glob.glob(osp.join(ROOT, 'configs', 'pipelines', '*.py')))
BASELINES = ('seam', 'sipe', 'mctformer', 'spatial_bce', 'pmm')


def test_every_baseline_has_twin_pipelines():
    names = {osp.basename(p)[:-3] for p in PIPELINES}
    for method in BASELINES:
        for data in ('synthetic', 'voc'):
            assert {f'{method}_{data}', f'hfpl_{method}_{data}'} <= names, (method, data)
    assert {'seam_coco', 'hfpl_seam_coco'} <= names  # the paper's Table 3


@pytest.fixture(scope='module')
def built_models():
    return {}


@pytest.mark.parametrize('path', [p for p in PIPELINES
                                  if p.endswith(('_voc.py', '_coco.py', '_msrc.py'))],
                         ids=lambda p: osp.basename(p))
def test_full_size_pipeline_resolves(path, built_models, monkeypatch):
    monkeypatch.chdir(ROOT)
    pcfg, stages = load_pipeline(path)
    plan = StagePlan(pcfg, stages, '/nonexistent/work')
    for stage in stages:
        opts = option_strings(plan.options(stage, None))
        cfg = resolved_config(stage.config, opts)
        key = (stage.config, tuple(o for o in opts if not o.startswith(('load_from', 'pseudo'))))
        if key not in built_models:
            sync_bn_to_bn(cfg.model)
            built_models[key] = type(MODELS.build(cfg.model)).__name__
        # the fingerprint's payload is computable without any output
        payload = plan.fingerprint_payload(
            stage, {s.name: 'f' for s in stages}, {s.name: 'c' for s in stages})
        assert payload['resolved_config'] and payload['kind'] == stage.kind


@pytest.mark.parametrize('method', BASELINES)
def test_add_on_twin_differs_only_by_the_cam_network(method, monkeypatch):
    monkeypatch.chdir(ROOT)
    for data in ('synthetic', 'voc') + (('coco',) if method == 'seam' else ()):
        _, base = load_pipeline(f'configs/pipelines/{method}_{data}.py')
        _, twin = load_pipeline(f'configs/pipelines/hfpl_{method}_{data}.py')
        assert [s.name for s in base] == [s.name for s in twin]
        for a, b in zip(base, twin):
            if a.kind == 'train' and a.config != b.config:
                assert b.config.startswith('configs/hfpl/'), b.config
                continue
            if a.kind == 'pseudo_labels' and a.args != b.args:
                assert method == 'seam' and a.args['crf'] == [4, 24] and b.args['crf'] == [1, 24]
                continue
            # (a stage with a model takes its config from that model's stage)
            assert (a.kind, a.model or a.config, a.inputs, a.args, a.cfg_options) == \
                (b.kind, b.model or b.config, b.inputs, b.args, b.cfg_options), (method, a.name)


def test_commands_read_their_inputs_by_stage_name(monkeypatch):
    monkeypatch.chdir(ROOT)
    pcfg, stages = load_pipeline('configs/pipelines/spatial_bce_synthetic.py',
                                 dict(data_root='/data/x', max_iters=3))
    plan = StagePlan(pcfg, stages, '/w', port=29999)
    ckpts = {s.name: f'/w/{s.name}/iter_3.pth' for s in stages if s.kind == 'train'}
    by = {s.name: plan.command(s, ckpts) for s in stages}
    assert 'load_from=/w/phase1/iter_3.pth' in by['phase2']
    assert 'model.decode_head.fg_prior.label_dir=/w/phase1_labels/crf_label' in by['phase2']
    assert 'train_cfg.max_iters=3' in by['phase1'] and 'param_scheduler.0.end=3' in by['phase1']
    assert 'train_dataloader.dataset.data_root=/data/x' in by['irn']
    walk = by['random_walk']
    assert walk[2:5] == ['configs/irn/irn_r18tiny_synthetic.py', '/w/irn/iter_3.pth', '--out']
    assert walk[walk.index('--cams') + 1] == '/w/pseudo_labels/cams'
    # the refine and test tools build the model the way it was trained (its options too)
    assert 'pseudo_label_dir=/w/pseudo_labels/ir_label' in walk
    test = by['test_crf']
    assert test[2:4] == ['configs/stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py',
                         '/w/segmentor/iter_3.pth'] and '--tta' in test
    assert 'test_crf=True' in test
    # --gpus 2: torchrun for train / test / CAM inference, workers for the walk
    plan2 = StagePlan(pcfg, stages, '/w', gpus=2, port=29999)
    assert plan2.command(stages[0], ckpts)[1:5] == [
        '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_port=29999']
    assert plan2.command(stages[0], ckpts)[-4:-2] == ['--launcher', 'pytorch'] or \
        '--launcher' in plan2.command(stages[0], ckpts)
    assert '--workers' in plan2.command(plan.by_name['random_walk'], ckpts)


def test_fingerprint_changes_with_an_upstream_option(monkeypatch):
    monkeypatch.chdir(ROOT)
    from mmseg_hfpl.pipeline.runner import fingerprint

    def prints(options):
        pcfg, stages = load_pipeline('configs/pipelines/seam_synthetic.py', options)
        plan = StagePlan(pcfg, stages, '/w')
        fps, hashes = {}, {s.name: 'c' for s in stages}
        for s in stages:
            fps[s.name] = fingerprint(plan.fingerprint_payload(s, fps, hashes))
        return fps

    base = prints({})
    assert prints({}) == base  # deterministic
    # a CAM-stage option: every stage reruns; a random-walk option: the walk and below
    cam = prints({'stages.cam.cfg_options': dict(model=dict(test_cfg=dict(bg_threshold=0.2)))})
    assert all(cam[k] != base[k] for k in base)
    walk = prints({'stages.random_walk.args.beta': 10})
    assert [k for k in base if walk[k] != base[k]] == [
        'random_walk', 'segmentor', 'test', 'test_crf']
    # the work dir is not part of a fingerprint (a moved work dir stays up to date)
    pcfg, stages = load_pipeline('configs/pipelines/seam_synthetic.py')
    a = StagePlan(pcfg, stages, '/w1').fingerprint_payload(stages[2], base, {})
    b = StagePlan(pcfg, stages, '/w2').fingerprint_payload(stages[2], base, {})
    assert a == b


def test_work_dir_inside_a_dataset_is_refused(synthetic_root, monkeypatch):
    monkeypatch.chdir(ROOT)
    pipe = Pipeline('configs/pipelines/seam_synthetic.py', osp.join(synthetic_root, 'out'),
                    cfg_options=dict(data_root=synthetic_root), device='cpu')
    with pytest.raises(ValueError, match='refusing to write to --work-dir .*lies inside'):
        pipe.run()
    assert not osp.exists(osp.join(synthetic_root, 'out'))


def test_bad_pipeline_configs_name_the_stage(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text("stages = dict(cam=dict(kind='train', config='c.py'),\n"
                   "              walk=dict(kind='refine', model='nope'))\n")
    with pytest.raises(KeyError, match="stage 'walk'.*earlier train stage"):
        load_pipeline(str(bad))
    bad.write_text("stages = dict(cam=dict(kind='fit', config='c.py'))\n")
    with pytest.raises(ValueError, match="stage 'cam': kind 'fit'"):
        load_pipeline(str(bad))
    bad.write_text("stages = dict(cam=dict(kind='train', config='c.py', input=1))\n")
    with pytest.raises(KeyError, match=r"unknown keys \['input'\]"):
        load_pipeline(str(bad))


def test_stage_directory_of_others_is_never_removed(synthetic_root, tmp_path, monkeypatch):
    """A stage output directory holding files without the pipeline's marker is refused, not
    removed (a mistyped --work-dir must not cost anybody's files)."""
    from mmseg_hfpl.pseudo_labels.output_guard import UnsafeOutputError
    monkeypatch.chdir(ROOT)
    theirs = tmp_path / 'work' / 'cam'
    theirs.mkdir(parents=True)
    (theirs / 'notes.txt').write_text('not written by the pipeline')
    pipe = Pipeline('configs/pipelines/seam_synthetic.py', str(tmp_path / 'work'),
                    cfg_options=dict(data_root=synthetic_root), device='cpu')
    with pytest.raises(UnsafeOutputError, match='did not write'):
        pipe.run()
    assert (theirs / 'notes.txt').read_text() == 'not written by the pipeline'


@pytest.mark.parametrize('twin,cam', [('hfpl_seam_effnet_msrc', 'seam_effnet_msrc_isl_fsl'),
                                      ('hfpl_seam_effnet_msrc_fsl', 'seam_effnet_msrc_fsl'),
                                      ('hfpl_seam_effnet_msrc_isl', 'seam_effnet_msrc_isl')])
def test_msrc_add_on_twins_differ_only_by_the_cam_network_and_the_low_alpha(twin, cam,
                                                                             monkeypatch):
    """configs/pipelines/seam_effnet_msrc.py's add-on twins (the study
    configs/studies/seam_msrc_pipeline.py): the CAM config of configs/hfpl/msrc/ and the CRF
    alphas 1 / 24 instead of 4 / 24, every other stage as the baseline's; the supervised
    reference trains the same segmentor on the real masks and tests it the same way."""
    monkeypatch.chdir(ROOT)
    _, base = load_pipeline('configs/pipelines/seam_effnet_msrc.py')
    _, other = load_pipeline(f'configs/pipelines/{twin}.py')
    assert [s.name for s in base] == [s.name for s in other]
    assert other[0].config == f'configs/hfpl/msrc/{cam}.py'
    assert base[1].args['crf'] == [4, 24] and other[1].args['crf'] == [1, 24]
    assert dict(base[1].args, crf=None) == dict(other[1].args, crf=None)
    for a, b in zip(base[2:], other[2:]):
        assert (a.kind, a.config, a.model, a.inputs, a.args, a.cfg_options) == \
            (b.kind, b.config, b.model, b.inputs, b.args, b.cfg_options), a.name
    _, sup = load_pipeline('configs/pipelines/supervised_effnet_msrc.py')
    assert [s.name for s in sup] == ['segmentor', 'test', 'test_crf']
    pseudo, gt = (resolved_config(s.config, []) for s in (base[4], sup[0]))
    assert pseudo.model == gt.model and pseudo.train_cfg == gt.train_cfg
    assert gt.train_dataloader.dataset.data_prefix.seg_map_path == 'SegmentationClass'
    assert gt.get('pseudo_label_dir') is None
    for a, b in zip(base[5:], sup[1:]):
        assert (a.kind, a.args, a.cfg_options) == (b.kind, b.args, b.cfg_options)
