import glob

from mmengine.config import Config

BASELINES = ('seam', 'sipe', 'pmm', 'mctformer', 'spatial_bce')


def test_every_baseline_add_on_gates_fsl_with_the_official_min_max_norm():
    """The add-on of every official baseline gates FSL with hfpl's ``visualization.max_norm``
    (``train_cam_voc.py:163``: min-max per class), SIPE's included (arvijj/hfpl has no SIPE
    variant; its FSL code is the only official one)."""
    configs = sorted(f for b in BASELINES for f in glob.glob(f'configs/hfpl/{b}_*.py'))
    gated = set()
    for path in configs:
        fsl = (Config.fromfile(path).model.decode_head.get('add_on') or {}).get('fsl')
        if fsl is not None:
            assert fsl.get('gating', 'max_norm') == 'max_norm', path
            assert fsl.get('subtract_min') is True, f'{path}: FSL gating without the minimum'
            gated.add(path)
    assert {'configs/hfpl/sipe_voc.py', 'configs/hfpl/sipe_synthetic.py',
            'configs/hfpl/seam_voc.py', 'configs/hfpl/mctformer_voc.py'} <= gated
