"""``pseudo_label_dir``: training labels named relative to the working directory."""
import os
import os.path as osp

from mmengine.config import Config

from mmseg_hfpl.pseudo_labels.config import resolve_pseudo_label_dir, without_masks

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_every_training_dataset_reads_the_directory_as_the_shell_means_it(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ('affinity/affinitynet_r38_voc12aug.py', 'irn/irn_r50_voc12aug.py',
                 'stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py',
                 'stage3/deeplabv3plus_r18tiny_synthetic-pseudo.py'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
        cfg.merge_from_dict({'pseudo_label_dir': 'work_dirs/pl/x'})
        path = resolve_pseudo_label_dir(cfg)
        assert path == osp.join(os.getcwd(), 'work_dirs', 'pl', 'x') == cfg.pseudo_label_dir
        ds = cfg.train_dataloader.dataset
        leaves = ds.datasets if 'datasets' in ds else [ds]
        assert leaves and all(d.data_prefix.seg_map_path == path for d in leaves)
        assert all(d.data_prefix.img_path == 'JPEGImages' for d in leaves)
        if cfg.get('val_dataloader'):  # held-out masks stay the real ones
            assert cfg.val_dataloader.dataset.data_prefix.seg_map_path != path
        images_only = without_masks(cfg.train_dataloader.dataset)
        sub = images_only.datasets if 'datasets' in images_only else [images_only]
        assert all('seg_map_path' not in d.data_prefix for d in sub)
        assert all(d.data_prefix.seg_map_path == path for d in leaves)  # a copy was changed


def test_configs_without_pseudo_label_dir_are_left_alone():
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'hfpl', 'demo_synthetic.py'))
    before = cfg.train_dataloader.dataset.data_prefix.to_dict()
    assert resolve_pseudo_label_dir(cfg) is None
    assert cfg.train_dataloader.dataset.data_prefix.to_dict() == before
