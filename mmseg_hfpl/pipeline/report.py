"""``report.md`` of a pipeline, generated from ``pipeline.json`` (so a rerun that skipped stages
still reports them): per stage its J / F / J&F on the split that stage is scored on, wall time,
peak memory and exact command; and a picture per fixed image: input | ground truth | CAM |
CRF label | random walk | final prediction, with a class-colour legend."""
import json
import os.path as osp
import shlex
from typing import List, Optional

import numpy as np

METRICS = ('J', 'F', 'J&F')


def _fmt(value) -> str:
    return f'{value:.2f}' if isinstance(value, (int, float)) else '—'


def _scored_on(row: dict) -> str:
    on = row.get('scored_on')
    if isinstance(on, dict):
        images = f" ({on['images']} images)" if on.get('images') else ''
        return f"{on.get('set')}{images}"
    return ''


def metric_rows(order: List[str], stages: dict) -> List[str]:
    """Markdown rows: one per metric entry of every stage (a stage without scores: one row of
    dashes, e.g. AffinityNet, whose labels the random walk stage scores)."""
    lines = ['| # | stage | kind | result | J | F | J&F | scored on | wall (s) | peak RSS (MiB) |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for k, name in enumerate(order, 1):
        record = stages.get(name)
        if not record:
            lines.append(f'| {k} | {name} | | not run | — | — | — | | | |')
            continue
        entries = list((record.get('metrics') or {}).items()) or [('—', {})]
        for i, (entry, row) in enumerate(entries):
            what = row.get('how', entry) if entry in ('train', 'test') else entry
            if isinstance(row.get('threshold'), (int, float)):
                what += f" (threshold {row['threshold']:.2f})"
            cost = (f"{record['wall_s']:.1f} | {record['peak_rss_mib']:.0f}" if i == 0
                    else ' | ')
            lines.append(f"| {k} | {name} | {record['kind']} | {what} | "
                         + ' | '.join(_fmt(row.get(m)) for m in METRICS)
                         + f' | {_scored_on(row)} | {cost} |')
    return lines


def write_report(work_dir: str, plan, state: dict) -> str:
    """Write ``report.md`` (and the panels) of the pipeline state; returns its path."""
    order = state.get('order') or list(state['stages'])
    stages = state['stages']
    lines = [f"# Pipeline report: {state.get('pipeline')}", '',
             f'Work directory: `{work_dir}`; every stage in `<work dir>/<stage>`, its output in '
             '`logs/<stage>.log`, the records in `pipeline.json`.', '']
    lines += metric_rows(order, stages)
    total = sum(r.get('wall_s', 0) for r in stages.values())
    lines += ['', f'Total wall time of the recorded stages: {total:.1f} s.', '', '## Commands', '']
    for k, name in enumerate(order, 1):
        record = stages.get(name)
        if record:
            lines += [f'{k}. `{name}` (fingerprint `{record["fingerprint"]}`)', '',
                      '   ```bash', '   ' + shlex.join(record['command']), '   ```', '']
    panels = render_panels(work_dir, plan, state)
    if panels:
        lines += ['## Fixed images', '']
        lines += [f'![{osp.basename(p)}](panels/{osp.basename(p)})' for p in panels]
        lines.append('')
    path = osp.join(work_dir, 'report.md')
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines))
    import os
    os.replace(tmp, path)
    return path


def _ref_dir(plan, ref: Optional[str]) -> Optional[str]:
    if not ref:
        return None
    name, _, sub = ref.partition('.')
    stage = plan.by_name.get(name)
    if stage is None:
        raise KeyError(f'report.panels: no stage {name!r}')
    return osp.join(plan.out_dir(stage), sub) if sub else plan.out_dir(stage)


def render_panels(work_dir: str, plan, state: dict) -> List[str]:
    """One PNG per fixed image under ``<work dir>/panels/`` (``report.panels`` of the pipeline
    config: ``images`` (how many), ``cam`` / ``crf`` / ``random_walk``: stage references,
    ``prediction``: the segmentor's train stage); redrawn only when those stages changed."""
    cfg = dict((plan.pcfg.get('report') or {}).get('panels') or {})
    if not cfg:
        return []
    needed = [str(cfg[k]).split('.')[0] for k in ('cam', 'crf', 'random_walk', 'prediction')
              if cfg.get(k)]
    stages = state['stages']
    if not all(stages.get(n, {}).get('status') == 'done' for n in needed):
        return []
    key = json.dumps([stages[n]['fingerprint'] for n in needed] + [cfg], sort_keys=True,
                     default=str)
    out_dir = osp.join(work_dir, 'panels')
    previous = state.get('panels') or {}
    if previous.get('key') == key and all(osp.isfile(p) for p in previous.get('files', [])):
        return previous['files']
    files = _draw_panels(plan, cfg, out_dir)
    state['panels'] = dict(key=key, files=files)
    from .runner import write_json
    write_json(osp.join(work_dir, 'pipeline.json'), state)
    return files


def _draw_panels(plan, cfg: dict, out_dir: str) -> List[str]:
    import cv2
    from PIL import Image

    from mmseg_hfpl.pseudo_labels.cam_inference import load_cams
    from mmseg_hfpl.visualization.cam_panel import cam_heatmap, colorize_labels, write_png
    cam_dir = osp.join(_ref_dir(plan, cfg['cam']), 'cams')
    manifest = json.load(open(osp.join(cam_dir, 'manifest.json')))
    pairs = [(n, g) for n, g in zip(manifest['images'], manifest['gt']) if g]
    pairs = pairs[:int(cfg.get('images', 2))]
    segmentor = plan.by_name[cfg['prediction']] if cfg.get('prediction') else None
    model, test_cfg = (None, None) if segmentor is None else _load_segmentor(plan, segmentor)
    classes, palette = _meta(plan, segmentor or plan.by_name[str(cfg['cam']).split('.')[0]])
    files = []
    for name, gt_path in pairs:
        img_path = _image_path(gt_path, name)
        image = cv2.imread(img_path, cv2.IMREAD_COLOR)[..., ::-1]
        gt = np.asarray(Image.open(gt_path))
        tiles = [('input', image), ('ground truth', colorize_labels(gt, palette))]
        cams, _ = load_cams(osp.join(cam_dir, name + '.npz'))
        cam = cams.max(0) if len(cams) else np.zeros(gt.shape, np.float32)
        cam = cv2.resize(cam, gt.shape[::-1]) if cam.shape != gt.shape else cam
        tiles.append(('CAM', cam_heatmap(image, cam)))
        for key, caption in (('crf', f"CRF label ({str(cfg.get('crf')).split('.')[-1]})"),
                             ('random_walk', 'random walk')):
            if cfg.get(key):
                label = np.asarray(Image.open(osp.join(_ref_dir(plan, cfg[key]),
                                                       name + '.png')))
                tiles.append((caption, colorize_labels(label, palette)))
        if model is not None:
            from mmseg.apis import inference_model
            pred = inference_model(model, img_path).pred_sem_seg.data[0].cpu().numpy()
            tiles.append(('final prediction', colorize_labels(pred, palette)))
        path = osp.join(out_dir, f'{name}.png')
        write_png(path, compose(tiles, classes, palette, title=name))
        files.append(path)
    return files


def _image_path(gt_path: str, name: str) -> str:
    """The image of a VOC-layout mask (``.../SegmentationClass*/NAME.png`` ->
    ``.../JPEGImages/NAME.jpg``)."""
    root = osp.dirname(osp.dirname(gt_path))
    for ext in ('.jpg', '.png', '.jpeg'):
        path = osp.join(root, 'JPEGImages', name + ext)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(f'no image of {name} in {root}/JPEGImages')


def _meta(plan, stage):
    from .stages import option_strings, resolved_config
    cfg = resolved_config(stage.config, option_strings(plan.options(stage, None)))
    meta = cfg.train_dataloader.dataset.get('metainfo') or {}
    return list(meta.get('classes') or []), meta.get('palette')


def _load_segmentor(plan, stage):
    import torch
    from mmseg.apis import init_model

    from mmseg_hfpl.engine.dist import sync_bn_to_bn
    from .runner import read_json
    from .stages import option_strings, resolved_config
    cfg = resolved_config(stage.config, option_strings(plan.options(stage, None)))
    if not torch.cuda.is_available():
        sync_bn_to_bn(cfg.model)
    # an image without annotations or image-level labels: mmseg's packing of the test pipeline
    cfg.test_pipeline = [dict(t) if not t['type'].startswith('Pack') else
                         dict(type='PackSegInputs') for t in cfg.test_pipeline
                         if t['type'] != 'LoadAnnotations']
    record = read_json(osp.join(plan.work_dir, 'pipeline.json'))['stages'][stage.name]
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    return init_model(cfg, record['outputs']['checkpoint'], device=device), cfg


def compose(tiles, classes, palette, title: str = '', size: int = 160) -> np.ndarray:
    """Tiles side by side (each resized to ``size`` px high), a caption above each, a class
    colour legend below."""
    import cv2
    font = cv2.FONT_HERSHEY_SIMPLEX
    row = []
    for caption, tile in tiles:
        h, w = tile.shape[:2]
        width = max(1, round(w * size / h))
        interp = cv2.INTER_NEAREST if caption not in ('input', 'CAM') else cv2.INTER_LINEAR
        tile = cv2.resize(np.ascontiguousarray(tile), (width, size), interpolation=interp)
        band = np.full((22, width, 3), 255, np.uint8)
        cv2.putText(band, caption, (3, 16), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        row += [np.concatenate([band, tile]), np.full((size + 22, 4, 3), 255, np.uint8)]
    body = np.concatenate(row[:-1], axis=1)
    legend = np.full((26, body.shape[1], 3), 255, np.uint8)
    x = 4
    for i, name in enumerate(classes):
        colour = tuple(int(c) for c in (palette[i] if palette else (0, 0, 0)))
        cv2.rectangle(legend, (x, 6), (x + 14, 20), colour, -1)
        cv2.rectangle(legend, (x, 6), (x + 14, 20), (0, 0, 0), 1)
        cv2.putText(legend, name, (x + 18, 18), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        x += 26 + 8 * len(name)
    header = np.full((22, body.shape[1], 3), 255, np.uint8)
    cv2.putText(header, title, (4, 16), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([header, body, legend])
