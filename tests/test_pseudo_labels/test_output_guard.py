"""The output guard of the writing tools (issue 29 sections 1 and 3): never into a dataset,
never over files of others, and one set of CAMs per pseudo-label directory."""
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmseg_hfpl.pseudo_labels import UnsafeOutputError, check_output_dir, dataset_dirs
from mmseg_hfpl.pseudo_labels.fingerprint import (FINGERPRINT_FILE, StaleOutputError,
                                                  cams_identity, check_fingerprints,
                                                  check_label_cams, read_fingerprint,
                                                  write_fingerprints)

from ..utils import output_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
LOG = 'make_pseudo_labels.log'


def md5_tree(directory):
    """{relative path: md5} of every file under ``directory``."""
    out = {}
    for d, _, files in os.walk(directory):
        for f in files:
            path = osp.join(d, f)
            out[osp.relpath(path, directory)] = hashlib.md5(open(path, 'rb').read()).hexdigest()
    return out


def tiny_cfg(root):
    cfg = Config.fromfile(osp.join(ROOT, 'tests', 'data', 'tiny_cam.py'))
    cfg.merge_from_dict({f'{k}.dataset.data_root': root for k in LOADERS})
    return cfg


def dataset_outs(root, tmp_path):
    """Outputs at, inside and around the dataset at ``root``: directly, via a symlink, via
    ``..``."""
    masks = osp.join(root, 'SegmentationClass')
    link = tmp_path / 'link_to_masks'
    if not link.exists():
        os.symlink(masks, link)
    root_link = tmp_path / 'link_to_root'
    if not root_link.exists():
        os.symlink(root, root_link)
    return [root, osp.join(root, 'JPEGImages'), masks, osp.join(masks, 'pl'),
            osp.join(root, 'ImageSets', 'Segmentation'), osp.dirname(root),  # contains the root
            str(link), str(link / 'sub'), str(root_link / 'JPEGImages'),
            osp.join(root, 'JPEGImages', '..', 'SegmentationClass'),
            osp.join(str(tmp_path), 'work_dirs', '..', '..', osp.relpath(masks,
                                                                           tmp_path.parent))]


@pytest.mark.parametrize('overwrite', [False, True])
def test_every_dataset_directory_is_refused(synthetic_root, tmp_path, overwrite):
    cfg = tiny_cfg(synthetic_root)
    before = md5_tree(synthetic_root)
    for out in dataset_outs(synthetic_root, tmp_path):
        with pytest.raises(UnsafeOutputError, match='whatever --overwrite says') as err:
            check_output_dir(out, cfg, overwrite)
        msg = str(err.value)
        assert repr(out) in msg and any(k in msg for k in ('data_root', 'data_prefix',
                                                           'ann_file'))
    assert not osp.exists(osp.join(synthetic_root, 'SegmentationClass', 'pl'))
    assert md5_tree(synthetic_root) == before
    # beside the dataset: accepted, nothing written by the guard
    ok = tmp_path / 'work_dirs' / 'pl'
    assert check_output_dir(str(ok), cfg, overwrite) == osp.realpath(ok)
    assert not ok.exists()


def test_dataset_dirs_walk_every_split_wrapper_and_file(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    masks = str(tmp_path / 'elsewhere' / 'masks')
    cfg = dict(
        train_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
            dict(type='WSSSVOCDataset', data_root=a, ann_file='ImageSets/aug.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                 cls_label_file='labels/cls_labels.npy'),
            dict(type='RepeatDataset', times=2, dataset=dict(
                type='WSSSVOCDataset', data_root=b, data_prefix=dict(img_path='imgs')))])),
        val_dataloader=None,
        test_dataloader=dict(dataset=dict(type='WSSSVOCDataset', data_root=c,
                                          data_prefix=dict(img_path='img', seg_map_path=masks))))
    got = {g.path: g.origin for g in dataset_dirs(cfg)}
    expected = [a, osp.join(a, 'JPEGImages'), osp.join(a, 'SegmentationClassAug'),
                osp.join(a, 'ImageSets'), osp.join(a, 'labels'), b, osp.join(b, 'imgs'), c,
                osp.join(c, 'img'), masks]
    assert sorted(got) == sorted(osp.realpath(p) for p in expected)
    assert got[osp.realpath(masks)] == 'test_dataloader.dataset.data_prefix.seg_map_path'
    assert got[osp.realpath(osp.join(b, 'imgs'))] == \
        'train_dataloader.dataset.datasets.1.dataset.data_prefix.img_path'
    for out in (osp.join(masks, 'x'), osp.join(b, 'imgs'), str(tmp_path / 'elsewhere')):
        with pytest.raises(UnsafeOutputError):
            check_output_dir(out, cfg, overwrite=True)


def test_pseudo_label_dir_is_guarded_but_may_share_its_root(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'affinity',
                                   'affinitynet_r18tiny_synthetic.py'))
    cfg.merge_from_dict({'pseudo_label_dir': str(tmp_path / 'pl' / 'aff_crf'),
                         **{f'{k}.dataset.data_root': str(tmp_path / 'data')
                            for k in ('train_dataloader', 'test_dataloader')}})
    for out in (tmp_path / 'pl' / 'aff_crf', tmp_path / 'pl' / 'aff_crf' / 'x'):
        with pytest.raises(UnsafeOutputError, match='pseudo_label_dir'):
            check_output_dir(str(out), cfg, overwrite=True)
    check_output_dir(str(tmp_path / 'pl' / 'aff'), cfg)  # refine's output beside the labels
    # the CAMs the walk reads: not at, in or around them
    for out in (tmp_path / 'pl' / 'cams', tmp_path / 'pl'):
        with pytest.raises(UnsafeOutputError, match='an input of this tool'):
            check_output_dir(str(out), cfg, inputs=[str(tmp_path / 'pl' / 'cams')])


@pytest.mark.parametrize('overwrite', [False, True])
def test_files_of_others_are_never_replaced(tmp_path, overwrite):
    theirs = tmp_path / 'theirs'
    theirs.mkdir()
    (theirs / 'train_0000.png').write_bytes(b'not ours')
    with pytest.raises(UnsafeOutputError, match='did not write') as err:
        check_output_dir(str(theirs), None, overwrite)
    assert 'Use --overwrite' not in str(err.value) and 'another --out' in str(err.value)
    with pytest.raises(StaleOutputError, match='no fingerprint') as err:
        check_fingerprints({str(theirs): dict(kind='random_walk')}, overwrite)
    assert 'Use --overwrite' not in str(err.value)
    assert (theirs / 'train_0000.png').read_bytes() == b'not ours'
    (tmp_path / 'a_file').write_text('x')
    with pytest.raises(UnsafeOutputError, match='is a file'):
        check_output_dir(str(tmp_path / 'a_file'), None, overwrite)
    # ours: empty, fingerprinted, a pseudo-label root (cams/ fingerprinted), a tool's log only
    (tmp_path / 'empty').mkdir()
    check_output_dir(str(tmp_path / 'empty'), None, overwrite)
    write_fingerprints({str(tmp_path / 'ours'): dict(kind='random_walk'),
                        str(tmp_path / 'root' / 'cams'): dict(kind='cams')})
    (tmp_path / 'ours' / 'train_0000.png').write_bytes(b'ours')
    check_output_dir(str(tmp_path / 'ours'), None, overwrite)
    check_output_dir(str(tmp_path / 'root'), None, overwrite, marker_dirs=('cams', ))
    (tmp_path / 'log_only').mkdir()
    (tmp_path / 'log_only' / 'make_pseudo_labels.log').write_text('started')
    check_output_dir(str(tmp_path / 'log_only'), None, overwrite,
                     own_files=('make_pseudo_labels.log', ))


def run_tool(args, root, loaders=LOADERS):
    return subprocess.run([sys.executable, *args, '--cfg-options',
                           *[f'{k}.dataset.data_root={root}' for k in loaders]],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_tools_refuse_the_dataset_whatever_overwrite_says(synthetic_root, tiny_checkpoint,
                                                          tmp_path):
    before = md5_tree(synthetic_root)
    make = ['tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py', tiny_checkpoint,
            '--scales', '1.0']
    res = run_tool([*make, '--out', synthetic_root, '--overwrite'], synthetic_root)
    assert res.returncode != 0 and 'UnsafeOutputError' in res.stderr, res.stderr[-2000:]
    assert f'it is {osp.realpath(synthetic_root)!r}, train_dataloader.dataset.data_root' in \
        res.stderr
    # the reported case: the walk's output at the masks of the scored split, --overwrite given
    # (the checkpoint is never loaded: the guard comes first)
    refine = ['tools/refine_pseudo_labels.py', 'configs/affinity/affinitynet_r18tiny_synthetic.py',
              str(tmp_path / 'aff.pth'), '--cams', str(tmp_path / 'pl' / 'cams')]
    masks = osp.join(synthetic_root, 'SegmentationClass')
    aff_loaders = ('train_dataloader', 'test_dataloader')  # AffinityNet: no validation
    res = run_tool([*refine, '--out', masks, '--overwrite'], synthetic_root, aff_loaders)
    assert res.returncode != 0 and 'UnsafeOutputError' in res.stderr, res.stderr[-2000:]
    assert 'test_dataloader.dataset.data_prefix.seg_map_path' in res.stderr
    assert 'Use --overwrite' not in res.stderr
    assert md5_tree(synthetic_root) == before


def test_overwrite_with_another_checkpoint_leaves_no_output_of_the_old_cams(
        synthetic_root, tiny_checkpoint, tmp_path):
    pl = tmp_path / 'pl'
    other = osp.join(osp.dirname(tiny_checkpoint), 'iter_2.pth')  # another model

    def make(ckpt, *extra):
        return run_tool(['tools/make_pseudo_labels.py', 'tests/data/tiny_cam.py', ckpt,
                         '--out', str(pl), '--scales', '1.0', *extra], synthetic_root)

    res = make(tiny_checkpoint, '--crf', '1', '24', '--affinity-labels', '--ir-labels', '0.3',
               '0.05')
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.load(open(pl / 'metrics.json'))
    assert {'cam', 'crf_a1', 'crf_a24'} <= set(metrics)
    check_label_cams(str(pl / 'aff_crf'))  # labels and CAMs of one run: a pair
    old_cams = cams_identity(read_fingerprint(str(pl / 'cams')))
    # a refine output beside them (what tools/refine_pseudo_labels.py records)
    write_fingerprints({str(pl / 'aff'): dict(kind='random_walk', model='m',
                                               cams=read_fingerprint(str(pl / 'cams')))})
    (pl / 'aff' / 'train_0000.png').write_bytes(b'walk')

    # the same CAMs without the CRF options: the CRF outputs and their scores stay
    res = make(tiny_checkpoint)
    assert res.returncode == 0, res.stderr[-3000:]
    kept = json.load(open(pl / 'metrics.json'))
    assert kept['crf_a1'] == metrics['crf_a1'] and kept['crf_a24'] == metrics['crf_a24']
    assert kept['cam'] == metrics['cam'] and 'cam_sweep_best' in kept
    assert len(output_files(pl / 'crf_a1')) == 16

    # another checkpoint: refused without --overwrite, no output changed (the log grows)
    before = md5_tree(pl)
    res = make(other)
    assert res.returncode != 0 and 'StaleOutputError' in res.stderr
    after = md5_tree(pl)
    assert after.pop(LOG) and before.pop(LOG) and after == before
    saved = tmp_path / 'aff_crf_of_the_old_cams'
    shutil.copytree(pl / 'aff_crf', saved)

    res = make(other, '--overwrite')
    assert res.returncode == 0, res.stderr[-3000:]
    new_cams = cams_identity(read_fingerprint(str(pl / 'cams')))
    assert new_cams != old_cams
    assert sorted(d.name for d in pl.iterdir() if d.is_dir()) == ['cam', 'cams']
    for d in ('cam', 'cams'):
        assert cams_identity(read_fingerprint(str(pl / d))) == new_cams
    assert cams_identity(read_fingerprint(str(pl))) == new_cams
    metrics = json.load(open(pl / 'metrics.json'))
    assert 'crf_a1' not in metrics and 'cam' in metrics
    assert len(output_files(pl / 'cam')) == 16

    # labels of the old CAMs put back beside the new ones: AffinityNet training refuses them
    shutil.copytree(saved, pl / 'aff_crf')
    with pytest.raises(StaleOutputError, match='other CAMs'):
        check_label_cams(str(pl / 'aff_crf'))
    res = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/affinity/affinitynet_r18tiny_synthetic.py',
         '--work-dir', str(tmp_path / 'aff_work'), '--cfg-options',
         f'pseudo_label_dir={pl / "aff_crf"}',
         f'train_dataloader.dataset.data_root={synthetic_root}',
         f'test_dataloader.dataset.data_root={synthetic_root}'],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode != 0 and 'StaleOutputError' in res.stderr, res.stderr[-3000:]
    assert f'{pl / "aff_crf"} were made from other CAMs than those in {pl / "cams"}' in \
        res.stderr
    assert not (tmp_path / 'aff_work').exists() or not any(
        f.endswith('.pth') for f in os.listdir(tmp_path / 'aff_work'))
    assert (pl / 'aff_crf' / FINGERPRINT_FILE).is_file()  # refused, not deleted


def test_label_cams_pairs_and_removal_of_stale_outputs(tmp_path):
    from mmseg_hfpl.pseudo_labels.fingerprint import outputs_of_other_cams, remove_outputs
    pl = tmp_path / 'pl'
    cams = dict(model='a' * 40, scales=[1.0], flip=True, normalisation='max')
    write_fingerprints({str(pl / 'cams'): dict(kind='cams', **cams),
                        str(pl / 'crf_a1'): dict(kind='crf_a1', cams=cams, alpha=1)})
    write_fingerprints({str(pl / 'aff'): dict(kind='random_walk', model='m',
                                               cams=read_fingerprint(str(pl / 'cams')))})
    check_label_cams(str(pl / 'crf_a1'))  # a pair: stage 3 on the CRF labels
    check_label_cams(str(pl / 'aff') + os.sep)  # and on the random walk of these CAMs
    (tmp_path / 'official').mkdir()  # labels of another origin (no fingerprint): not judged
    check_label_cams(str(tmp_path / 'official'), str(pl / 'cams'))
    assert outputs_of_other_cams(str(pl), cams) == []
    new = dict(cams, model='b' * 40)
    write_fingerprints({str(pl / 'cams'): dict(kind='cams', **new)})
    for labels in ('crf_a1', 'aff'):
        with pytest.raises(StaleOutputError, match=rf"{pl / labels} were made from other CAMs "
                           rf"than those in {pl / 'cams'} \(model: 'a+' -> 'b+'\)"):
            check_label_cams(str(pl / labels))
    assert outputs_of_other_cams(str(pl), new) == [str(pl / 'aff'), str(pl / 'crf_a1')]
    # Spatial-BCE's next phase reads its prior from such labels: refused at the first lookup
    from mmseg_hfpl.models.heads.spatial_bce_head import ForegroundPrior
    with pytest.raises(StaleOutputError, match='other CAMs'):
        ForegroundPrior(5, label_dir=str(pl / 'crf_a1'), default=0.3).ratios('x')
    (pl / 'crf_a1' / 'x.png').write_bytes(b'ours')
    (pl / 'crf_a1' / 'notes.txt').write_text('theirs')
    assert remove_outputs(str(pl / 'crf_a1')) == ['notes.txt']  # only what the tools write
    assert not (pl / 'crf_a1' / 'x.png').exists() and read_fingerprint(str(pl / 'crf_a1')) is None
    assert remove_outputs(str(pl / 'aff')) == [] and not (pl / 'aff').exists()
    with pytest.raises(StaleOutputError, match='refusing to delete'):
        remove_outputs(str(tmp_path / 'official'))
