"""docs/en/dataset_prepare.md's "Your own dataset" block runs as written on a VOC-layout
dataset made here.

The block is read from docs/en/dataset_prepare.md (between the ``own-dataset`` markers) and run
by bash in a
fresh working directory holding the repository's configs (the block adds its own config
folder there), ``tools/`` and ``.venv``; only the iteration caps are added (and the checkpoint
name changed to match), as tests/test_readme.py does for the pipeline block.
"""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ITERS = 2
CAPS = (f'train_cfg.max_iters={ITERS} train_cfg.val_interval={ITERS} '
        f'param_scheduler.0.end={ITERS} default_hooks.checkpoint.interval={ITERS} '
        'train_dataloader.batch_size=4')


def readme_script(marker):
    text = open(osp.join(ROOT, 'docs', 'en', 'dataset_prepare.md')).read()
    block = re.search(rf'<!-- {marker}:start -->\s*```bash\n(.*?)```\s*<!-- {marker}:end -->',
                      text, re.S)
    assert block, f'docs/en/dataset_prepare.md has no {marker} block'
    lines = block.group(1).replace('\\\n', ' ').replace('iter_1500.pth', f'iter_{ITERS}.pth')
    return '\n'.join(ln + f' --cfg-options {CAPS}' if 'tools/train.py' in ln else ln
                     for ln in lines.splitlines())


def make_dataset(root, names=8):
    """``names`` 64x48 photos-to-be of a cat (class 1) or a dog (class 2) rectangle, or both."""
    for d in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, d))
    rng = np.random.default_rng(0)
    labels = {}
    for i in range(names):
        name = f'img_{i:02d}'
        image = rng.integers(0, 80, (48, 64, 3), dtype=np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        present = [1, 2] if i % 3 == 2 else [1 + i % 2]
        for k, cls in enumerate(present):
            y, x = 4 + 20 * k, 6 + 24 * k
            mask[y:y + 18, x:x + 22] = cls
            image[y:y + 18, x:x + 22] = (200, 60, 60) if cls == 1 else (60, 200, 60)
        cv2.imwrite(osp.join(root, 'JPEGImages', name + '.jpg'), image)
        cv2.imwrite(osp.join(root, 'SegmentationClass', name + '.png'), mask)
        labels[name] = present
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt'), 'w') as f:
        f.write('\n'.join(labels) + '\n')
    with open(osp.join(root, 'cls_labels.json'), 'w') as f:
        json.dump(dict(labels=labels), f)
    return sorted(labels)


def test_own_dataset_block_runs_as_written(tmp_path):
    names = make_dataset(str(tmp_path / 'data' / 'my_dataset'))
    (tmp_path / 'configs').mkdir()  # the block writes configs/my_dataset/ here, not in the repo
    for entry in os.listdir(osp.join(ROOT, 'configs')):
        os.symlink(osp.join(ROOT, 'configs', entry), tmp_path / 'configs' / entry)
    os.symlink(osp.join(ROOT, 'tools'), tmp_path / 'tools')
    os.symlink(sys.prefix, tmp_path / '.venv')  # the environment running the tests
    res = subprocess.run(['bash', '-euo', 'pipefail', '-c', readme_script('own-dataset')],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-4000:]
    assert not osp.exists(osp.join(ROOT, 'configs', 'my_dataset'))
    # the CAM network trained and was scored, its pseudo-labels were written and scored
    assert (tmp_path / 'work_dirs/my_cam' / f'iter_{ITERS}.pth').is_file()
    assert re.search(r'J&F: [0-9.]+', log), log[-3000:]
    out = tmp_path / 'work_dirs/my_cam/pseudo_labels'
    for variant in ('cam', 'crf_a1'):
        files = sorted(f[:-4] for f in os.listdir(out / variant) if f.endswith('.png'))
        assert files == names, variant
        label = cv2.imread(str(out / variant / f'{names[0]}.png'), cv2.IMREAD_UNCHANGED)
        assert label.shape[:2] == (48, 64)
    metrics = json.load(open(out / 'metrics.json'))
    assert metrics['scored_on']['images'] == len(names)
    assert 0 <= metrics['cam']['J'] <= 100
