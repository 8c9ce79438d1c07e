"""Benchmark: what each stage of the WSSS pipeline costs per image, and the projected hours.

Times every stage of the SEAM -> AffinityNet / IRN -> stage-3 pipeline on one VOC-sized image
(a random smooth 500x375 image with two labelled classes, written to a temporary PNG), with the
models built from the configs (``mmengine.Config`` + ``MODELS.build``, random initialisation:
every ``init_cfg`` / ``pretrained`` is set to None, nothing is downloaded) and the package's own
stage functions, the code the tools run:

- CAM inference (``configs/seam/seam_r38_voc.py``): ``multi_scale_cams`` at the config's
  ``pseudo_label_cfg`` scales + flip and normalisation, then ``save_cams``, as
  ``tools/make_pseudo_labels.py``;
- the pseudo-label CRF stage: ``write_pseudo_labels`` with the config's CRF alphas (SEAM: 4 and
  24, 10 mean-field iterations each) and its AffinityNet labels, as ``make_pseudo_labels.py``;
- the random walks of ``tools/refine_pseudo_labels.py`` (``random_walk_labels``):
  AffinityNet (``configs/affinity/affinitynet_r38_voc12aug.py``, beta 8, logt 6, background
  alpha 6) and IRN (``configs/irn/irn_r50_voc12aug.py``, beta 10, logt 8, background 0.25),
  both on the CAMs of the first row;
- the stage-3 test (``configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py``) as
  ``tools/test.py --tta --cfg-options test_crf=True`` runs it: the config's ``tta_pipeline``
  (6 scales + flip) and ``tta_model`` inside its ``crf_model`` (``DenseCRFPostProcessor``);
- one training iteration (``model.train_step`` with the config's optimiser wrapper) of each
  training stage at the config's crop, on random images and labels: SEAM CAM, AffinityNet, IRN,
  stage 3. ``--batch b`` runs ``b`` images instead of the config's total batch ``B``; the
  iteration at ``B`` is projected as ``B x`` the time per image.

Projections: inference hours = images x seconds per image / workers / 3600 for VOC train_aug
(10,582), VOC val (1,449), COCO train2014 (82,783) and val2014 (40,504); training hours =
iterations of the config's schedule (VOC config and its COCO twin) x seconds per iteration at
the config's batch / workers / 3600 (ideal data parallelism: ``tools/train.py`` splits the total
batch over the processes). Data loading and checkpoint writing are not included.

Narrowing: the full-width ResNet-38 stages (8 CAM passes up to 1000x750, 12 stage-3 views, the
training iterations) do not fit a CPU run of a few minutes (docs/en/benchmarks.md has a
full-width AffinityNet iteration beside the narrow one), so ``--r38-width`` (default 64 on
CUDA, 16 on a CPU) scales the ResNet-38 channels (and the heads' inputs with them) of the
SEAM, AffinityNet and stage-3 models; the printed table names the width of every row (IRN's
ResNet-50 always runs at full width). ``--size`` scales the image
(long side, VOC: 500) and every crop by the same ratio (for tests).

    .venv/bin/python tools/benchmarks/pipeline_cost.py --threads 1 --repeat 1
    python tools/benchmarks/pipeline_cost.py --device cuda --repeat 3   # full width and batch
"""
import argparse
import copy
import gc
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from addon_overhead import _no_pretrained, make_batch
from machine import machine_line

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = dict(  # stage -> (VOC config, its COCO twin or None)
    cam=('configs/seam/seam_r38_voc.py', 'configs/seam/seam_r38_coco.py'),
    aff=('configs/affinity/affinitynet_r38_voc12aug.py',
         'configs/affinity/affinitynet_r38_coco.py'),
    irn=('configs/irn/irn_r50_voc12aug.py', None),
    seg=('configs/stage3/deeplabv1-largefov_r38_voc12aug-pseudo.py',
         'configs/stage3/deeplabv1-largefov_r38_coco-pseudo.py'),
)
# images of each split; the training sets also size the epoch-based schedules
DATASETS = (('VOC train_aug', 10582), ('VOC val', 1449), ('COCO train', 82783),
            ('COCO val', 40504))
TRAIN_IMAGES = dict(voc=10582, coco=82783)
VOC_SIZE = (375, 500)  # (h, w) of a typical VOC image
LABELS = (1, 15)  # aeroplane, person: the classes of the benchmark image (0-based: 0, 14)
TRAINING = {'train_cam': 'SEAM CAM training', 'train_aff': 'AffinityNet training',
            'train_irn': 'IRN training', 'train_seg': 'stage-3 LargeFOV training'}
WALKS = dict(  # the walk settings the configs' comments give refine_pseudo_labels.py
    aff=dict(beta=8.0, logt=6, bg_alpha=6.0),
    irn=dict(beta=10.0, logt=8, bg_threshold=0.25),
)


def log(message: str) -> None:
    print(f'[pipeline_cost] {message}', file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ memory
def _status_mb(key: str) -> float:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float('nan')


def reset_peaks(device: str) -> None:
    """Reset the process's peak resident memory (Linux ``clear_refs`` 5) and CUDA's peak."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()


def peaks(device: str) -> tuple:
    """(peak RSS MB of the process since the reset, CUDA max allocated MB or None)."""
    cuda = torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else None
    return _status_mb('VmHWM'), cuda


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def measure(fn, device: str, repeat: int, warmup: int) -> dict:
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup`` (CUDA synchronised
    around each), and the peak memory of the measured calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    gc.collect()
    reset_peaks(device)
    times = []
    for _ in range(repeat):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    rss, cuda = peaks(device)
    return dict(time=statistics.median(times), rss_mb=rss, cuda_mb=cuda)


# ------------------------------------------------------------------------------------ models
def narrow_r38(model_cfg: dict, width: int) -> str:
    """Scale a ResNet-38 backbone to ``base_channels=width`` and the inputs of the layers after
    it (``in_channels`` of the head, or of the model for AffinityNet; SEAM's ``channels`` of
    4096, conv6 itself); returns the width as printed."""
    backbone = model_cfg['backbone']
    if backbone.get('type') != 'ResNet38d':
        return f'{backbone.get("type")}{backbone.get("depth", "")} full'
    full = backbone.get('base_channels', 64)
    if width == full:
        return 'R38 full'
    scale = width / full
    backbone['base_channels'] = width
    for owner in (model_cfg, model_cfg.get('decode_head') or {}):
        ins = owner.get('in_channels')
        if isinstance(ins, (list, tuple)):
            owner['in_channels'] = tuple(int(c * scale) for c in ins)
        elif isinstance(ins, int):
            owner['in_channels'] = int(ins * scale)
    head = model_cfg.get('decode_head') or {}
    if head.get('type') == 'SEAMHead' and head.get('channels') == 4096:
        head['channels'] = int(4096 * scale)
    return f'R38 {width}/{full}'


def scaled(size, ratio: float, multiple: int = 8) -> tuple:
    """A crop size scaled by ``ratio``, rounded to ``multiple`` (at least one ``multiple``)."""
    return tuple(max(multiple, int(round(s * ratio / multiple)) * multiple) for s in size)


def load_config(path: str, width: int, ratio: float):
    """(cfg, model cfg, width text, crop) of a config: no pretrained weights, SyncBN as BN
    (one process), ResNet-38 narrowed, crop scaled by ``ratio``."""
    from mmengine.config import Config

    from mmseg_hfpl.engine.dist import sync_bn_to_bn
    cfg = Config.fromfile(osp.join(ROOT, path))
    model_cfg = copy.deepcopy(cfg.model)
    _no_pretrained(model_cfg)
    sync_bn_to_bn(model_cfg)
    text = narrow_r38(model_cfg, width)
    crop = scaled(tuple(model_cfg['data_preprocessor']['size']), ratio)
    model_cfg['data_preprocessor']['size'] = crop
    return cfg, model_cfg, text, crop


def build_model(model_cfg: dict, device: str):
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.init_weights()
    return model.to(device)


def optim_wrapper_of(cfg, model, device: str):
    from mmengine.optim import build_optim_wrapper
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if device != 'cuda' and optim_cfg.get('type') == 'AmpOptimWrapper':
        optim_cfg['type'] = 'OptimWrapper'  # mmengine's AMP wrapper needs a GPU
        optim_cfg.pop('loss_scale', None)
        optim_cfg.pop('dtype', None)
    return build_optim_wrapper(model, optim_cfg)


def schedule_iters(cfg, images: int) -> int:
    """Training iterations of a config's schedule: ``max_iters``, or ``max_epochs`` x batches
    per epoch of ``images`` at the config's total batch (``drop_last`` as the loader says)."""
    train_cfg = cfg.train_cfg
    if 'max_iters' in train_cfg:
        return int(train_cfg['max_iters'])
    batch = int(cfg.get('total_batch_size', cfg.train_dataloader.batch_size))
    per_epoch = images // batch if cfg.train_dataloader.get('drop_last', False) \
        else -(-images // batch)
    return int(train_cfg['max_epochs']) * per_epoch


def config_batch(cfg) -> int:
    return int(cfg.get('total_batch_size', cfg.train_dataloader.batch_size))


# ------------------------------------------------------------------------------------ data
def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    """(h, w, 3) uint8 BGR image: smooth random colours with two bright rectangles (edges for
    the CRFs)."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((1, 3, h // 16 + 2, w // 16 + 2), np.float32))
    img = torch.nn.functional.interpolate(coarse, size=(h, w), mode='bilinear')[0]
    img = (img.permute(1, 2, 0).numpy() * 160).astype(np.uint8)
    img[h // 5:h // 2, w // 6:w // 2] += 90
    img[h // 2:4 * h // 5, w // 2:5 * w // 6, 1] += 80
    return img


def label_map(h: int, w: int, classes) -> torch.Tensor:
    """(1, h, w) long label map: background with two class rectangles and an ignored band."""
    label = torch.zeros(1, h, w, dtype=torch.long)
    label[:, h // 5:h // 2, w // 6:w // 2] = classes[0]
    label[:, h // 2:4 * h // 5, w // 2:5 * w // 6] = classes[-1]
    label[:, :, w - max(1, w // 20):] = 255
    return label


def seg_batch(crop, batch: int, classes, seed: int) -> dict:
    """A batch of random images with label maps (``gt_sem_seg``) at the crop size, packed as
    ``PackSegInputs`` does."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = crop
    inputs, samples = [], []
    for i in range(batch):
        img = smooth_image(h, w, seed + i)
        inputs.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())
        sample = SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             pad_shape=(h, w), flip=False))
        sample.gt_sem_seg = PixelData(data=label_map(h, w, classes))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


# ------------------------------------------------------------------------------------ stages
class Bench:
    """Runs the stages and collects the rows."""

    def __init__(self, args, tmp: str) -> None:
        self.args = args
        self.device = args.device
        self.tmp = tmp
        self.ratio = args.size / VOC_SIZE[1]
        self.h = max(8, int(round(VOC_SIZE[0] * self.ratio)))
        self.w = args.size
        self.image_path = osp.join(tmp, 'image.png')
        self.mask_path = osp.join(tmp, 'mask.png')
        import cv2
        cv2.imwrite(self.image_path, smooth_image(self.h, self.w, 0))
        cv2.imwrite(self.mask_path, label_map(self.h, self.w, LABELS)[0].numpy().astype(
            np.uint8))
        self.img_label = np.zeros(20, np.float32)
        self.img_label[[c - 1 for c in LABELS]] = 1
        self.item = dict(img_path=self.image_path, img_label=self.img_label,
                         seg_map_path=self.mask_path)
        self.inference, self.training = [], []
        self.failed = {}  # stage -> error

    def time(self, fn) -> dict:
        return measure(fn, self.device, self.args.repeat, self.args.warmup)

    def add_inference(self, stage: str, name: str, model: str, res: dict) -> None:
        res = dict(stage=stage, name=name, model=model, per_image_s=res['time'],
                   rss_mb=res['rss_mb'], cuda_mb=res['cuda_mb'])
        res['hours'] = {d: n * res['per_image_s'] / self.args.workers / 3600.0
                        for d, n in DATASETS}
        self.inference.append(res)
        log(f'{name}: {res["per_image_s"]:.3f} s per image')

    def train(self, stage: str) -> None:
        """One training iteration of ``stage`` at its config's crop (batch ``--batch``)."""
        name = TRAINING[f'train_{stage}']
        cfg, model_cfg, width, crop = load_config(CONFIGS[stage][0], self.args.r38_width,
                                                  self.ratio)
        total = config_batch(cfg)
        batch = min(self.args.batch or total, total)
        log(f'{name}: building {width}, one iteration of batch {batch} at {crop}')
        model = build_model(model_cfg, self.device)
        model.train()
        optim = optim_wrapper_of(cfg, model, self.device)
        if stage == 'cam':
            data = make_batch(crop, batch, model.decode_head.num_classes - 1, seed=0)
        else:
            data = seg_batch(crop, batch, LABELS, seed=0)
        res = self.time(lambda: model.train_step(data, optim))
        per_image = res['time'] / batch
        iters = {'voc': schedule_iters(cfg, TRAIN_IMAGES['voc'])}
        coco = CONFIGS[stage][1]
        if coco is not None:
            from mmengine.config import Config
            iters['coco'] = schedule_iters(Config.fromfile(osp.join(ROOT, coco)),
                                           TRAIN_IMAGES['coco'])
        iter_s = per_image * total
        row = dict(stage=f'train_{stage}', name=name, model=width, crop=list(crop),
                   batch=batch, config_batch=total, measured_iter_s=res['time'],
                   per_image_s=per_image, iter_s=iter_s,
                   rss_mb=res['rss_mb'], cuda_mb=res['cuda_mb'], iters=iters,
                   hours={k: n * iter_s / self.args.workers / 3600.0 for k, n in iters.items()})
        self.training.append(row)
        log(f'{name}: {res["time"]:.3f} s per iteration of {batch}')
        del model, optim, data
        gc.collect()

    @property
    def cam_path(self) -> str:
        return osp.join(self.tmp, 'pseudo', 'cams', 'image.npz')

    def run(self) -> None:
        """Every chosen stage in pipeline order; a stage that fails (e.g. out of memory) is
        reported in :attr:`failed` and the others still run."""
        stages = self.args.stages
        steps = []
        if {'cam', 'crf', 'aff', 'irn'} & set(stages):  # crf and the walks read the CAMs
            steps.append(('cam', self.cam_inference))
        if 'crf' in stages:
            steps.append(('crf', self.crf))
        steps += [(s, lambda s=s: self.walk(s)) for s in ('aff', 'irn') if s in stages]
        if 'test' in stages:
            steps.append(('test', lambda: self.add_inference('test', *self.stage3_test())))
        steps += [(s, lambda s=s: self.train(s[len('train_'):])) for s in TRAINING
                  if s in stages]
        for stage, step in steps:
            try:
                step()
            except Exception as err:  # one stage's failure must not lose the others' times
                import traceback
                traceback.print_exc()
                self.failed[stage] = f'{type(err).__name__}: {err}'.splitlines()[0][:200]
                log(f'{stage} FAILED: {self.failed[stage]}')
                if self.device == 'cuda':
                    torch.cuda.empty_cache()
            gc.collect()

    def cam_inference(self) -> None:
        """make_pseudo_labels.py's CAM stage (``PseudoLabelGenerator._infer_cams``): read the
        image, ``multi_scale_cams`` at the config's scales / flip / normalisation,
        ``save_cams``; timed with ``cam`` in the stages, else run once for the next stages."""
        from mmseg_hfpl.datasets.checks import read_image
        from mmseg_hfpl.pseudo_labels import multi_scale_cams, save_cams
        cfg, model_cfg, width, _ = load_config(CONFIGS['cam'][0], self.args.r38_width,
                                               self.ratio)
        plcfg = dict(cfg.get('pseudo_label_cfg') or {})
        scales, flip = tuple(plcfg.get('scales', (0.5, 1.0, 1.5, 2.0))), plcfg.get('flip', True)
        norm = plcfg.get('cam_norm', 'max')
        log(f'CAM inference: building {width}, scales {scales}, flip {flip}')
        model = build_model(model_cfg, self.device).eval()
        os.makedirs(osp.dirname(self.cam_path), exist_ok=True)

        def infer():
            image = read_image(self.image_path)
            cams, classes, thresholds = multi_scale_cams(
                model, image, self.img_label, scales, flip, norm, with_thresholds=True)
            save_cams(self.cam_path, cams, classes, thresholds)

        with torch.no_grad():
            if 'cam' in self.args.stages:
                passes = len(scales) * (2 if flip else 1)
                name = f'CAM, {len(scales)} scales' + (' + flip' if flip else '')
                self.add_inference('cam', f'{name} ({passes} passes)', width, self.time(infer))
            else:
                infer()

    def crf(self) -> None:
        """make_pseudo_labels.py's label stage for the image (``write_pseudo_labels``) with the
        CAM config's ``pseudo_label_cfg``: CRF at its alphas, cam and AffinityNet labels."""
        from mmseg_hfpl.pseudo_labels import PseudoLabelGenerator
        from mmseg_hfpl.pseudo_labels.generator import write_pseudo_labels
        cfg, _, _, _ = load_config(CONFIGS['cam'][0], self.args.r38_width, self.ratio)
        plcfg = dict(cfg.get('pseudo_label_cfg') or {})
        gen = PseudoLabelGenerator(None, osp.join(self.tmp, 'pseudo'), num_classes=21,
                                   crf_alphas=plcfg.get('crf_alphas', ()),
                                   affinity_labels=plcfg.get('affinity_labels', False),
                                   overwrite=True)
        task = (self.item, gen.label_cfg())
        alphas = ', '.join(f'{a:g}' for a in gen.crf_alphas)
        self.add_inference('crf', f'CRF alpha {alphas} + labels', 'pydensecrf',
                           self.time(lambda: write_pseudo_labels(task)))

    def walk(self, stage: str) -> None:
        """refine_pseudo_labels.py for the image (``refine._refine_one``: load the CAMs, read
        the image, ``random_walk_labels``, write the label) with the stage's model."""
        from mmseg_hfpl.datasets.checks import read_image
        from mmseg_hfpl.pseudo_labels import load_cams
        from mmseg_hfpl.pseudo_labels.refine import random_walk_labels
        from mmseg_hfpl.pseudo_labels.writer import write_label_png
        title = dict(aff='AffinityNet walk', irn='IRN walk')[stage]
        _, model_cfg, width, _ = load_config(CONFIGS[stage][0], self.args.r38_width, self.ratio)
        log(f'{title}: building {width}')
        model = build_model(model_cfg, self.device).eval()
        walk = WALKS[stage]
        path = osp.join(self.tmp, 'pseudo', stage, 'image.png')

        def refine():
            cams, classes = load_cams(self.cam_path)
            image = read_image(self.image_path)
            write_label_png(path, random_walk_labels(model, image, cams, classes, **walk))

        settings = ', '.join(f'{k.replace("bg_threshold", "bg")} {v:g}'
                             for k, v in walk.items() if k != 'bg_alpha')
        self.add_inference(stage, f'{title} ({settings})', width, self.time(refine))

    def stage3_test(self) -> tuple:
        """tools/test.py --tta --cfg-options test_crf=True on the image: the config's
        tta_pipeline, tta_model and crf_model around its model."""
        from mmengine.dataset import Compose, pseudo_collate
        from mmseg.registry import MODELS
        cfg, model_cfg, width, _ = load_config(CONFIGS['seg'][0], self.args.r38_width,
                                               self.ratio)
        log(f'stage-3 test: building {width}')
        seg = build_model(model_cfg, self.device)
        tta = MODELS.build(dict(copy.deepcopy(cfg.tta_model), module=seg))
        crf_cfg = dict(copy.deepcopy(cfg.crf_model))
        crf_cfg.pop('type')
        from mmseg_hfpl.models.segmentors.dense_crf import DenseCRFPostProcessor
        model = DenseCRFPostProcessor(tta, **crf_cfg).to(self.device).eval()
        pipeline = Compose(copy.deepcopy(cfg.tta_pipeline))
        info = dict(img_path=self.image_path, seg_map_path=self.mask_path,
                    reduce_zero_label=False, seg_fields=[])

        def test():
            data = pseudo_collate([pipeline(copy.deepcopy(info))])
            with torch.no_grad():
                model.test_step(data)

        views = len(cfg.tta_pipeline[1]['transforms'][0]) * len(
            cfg.tta_pipeline[1]['transforms'][1])
        res = self.time(test)
        del model, tta, seg
        gc.collect()
        return f'stage-3 test, {views} views + CRF', width, res


# ------------------------------------------------------------------------------------ totals
#: whole pipelines: training stages, stages that label the training set, stages on the val set
PIPELINES = {
    'SEAM -> AffinityNet -> stage 3': dict(train=('train_cam', 'train_aff', 'train_seg'),
                                           label=('cam', 'crf', 'aff'), test=('test', )),
}
SPLITS = dict(voc=('VOC train_aug', 'VOC val'), coco=('COCO train', 'COCO val'))


def pipeline_hours(inference: list, training: list) -> dict:
    """``{pipeline: {'voc': h, 'coco': h}}``: the sum of its training hours, its labelling
    stages on the training set and its test on the val set (only pipelines whose stages were
    all measured; a dataset only where every training stage has a config for it)."""
    rows = {r['stage']: r for r in inference + training}
    out = {}
    for name, parts in PIPELINES.items():
        if not all(s in rows for s in parts['train'] + parts['label'] + parts['test']):
            continue
        out[name] = {}
        for data, (train_split, val_split) in SPLITS.items():
            if not all(data in rows[s]['hours'] for s in parts['train']):
                continue
            out[name][data] = (sum(rows[s]['hours'][data] for s in parts['train'])
                               + sum(rows[s]['hours'][train_split] for s in parts['label'])
                               + sum(rows[s]['hours'][val_split] for s in parts['test']))
    return out


# ------------------------------------------------------------------------------------ output
def hours(h: float) -> str:
    return f'{h:.2f}' if h < 100 else f'{h:.0f}'


def memory(row: dict) -> str:
    cuda = '' if row['cuda_mb'] is None else f' {row["cuda_mb"]:>8.0f}'
    return f'{row["rss_mb"]:>8.0f}{cuda}'


def print_tables(bench: Bench, args) -> None:
    cuda = args.device == 'cuda'
    mem_head = f'{"RSS MB":>8}' + (f' {"CUDA MB":>8}' if cuda else '')
    names = [d for d, _ in DATASETS]
    if bench.inference:
        head = (f'{"inference stage":<36} {"model":>13} | {"s/image":>8} | {mem_head} | '
                + ' '.join(f'{d:>13}' for d in names))
        print(f'per image, and hours on {args.workers} worker(s) = images x s/image / workers:')
        print(head)
        print('-' * len(head))
    for row in bench.inference:
        print(f'{row["name"]:<36} {row["model"]:>13} | {row["per_image_s"]:>8.3f} | '
              f'{memory(row)} | ' + ' '.join(f'{hours(row["hours"][d]):>13}' for d in names))
    if bench.training:
        if bench.inference:
            print()
        print(f'training, one iteration; hours on {args.workers} worker(s) = iterations x '
              's/iteration at the config batch / workers:')
        head = (f'{"training stage":<26} {"model":>13} {"crop":>9} {"batch":>7} | '
                f'{"s/iter":>7} {"s/image":>8} {"s/iter@B":>8} | {mem_head} | '
                f'{"VOC iters":>9} {"hours":>6} | {"COCO iters":>10} {"hours":>6}')
        print(head)
        print('-' * len(head))
        for row in bench.training:
            crop = f'{row["crop"][0]}x{row["crop"][1]}'
            coco = (f'{row["iters"]["coco"]:>10} {hours(row["hours"]["coco"]):>6}'
                    if 'coco' in row['iters'] else f'{"-":>10} {"-":>6}')
            print(f'{row["name"]:<26} {row["model"]:>13} {crop:>9} '
                  f'{row["batch"]:>3}/{row["config_batch"]:<3} | {row["measured_iter_s"]:>7.3f} '
                  f'{row["per_image_s"]:>8.3f} {row["iter_s"]:>8.3f} | {memory(row)} | '
                  f'{row["iters"]["voc"]:>9} {hours(row["hours"]["voc"]):>6} | {coco}')
    for name, total in pipeline_hours(bench.inference, bench.training).items():
        print(f'whole pipeline {name} on {args.workers} worker(s): '
              + ', '.join(f'{data.upper()} {hours(h)} h' for data, h in total.items())
              + ' (training + labelling the training set + testing on val)')
    for stage, error in bench.failed.items():
        print(f'FAILED {stage}: {error}')
    print(f'time = median of {args.repeat} after {args.warmup} warm-up; MB = peak of the '
          'process during the stage (RSS, models included' + (', CUDA max allocated' if cuda
                                                               else '') + ')')
    print('not included: data loading, image decoding in training, checkpoints, evaluation')


STAGES = ('cam', 'crf', 'aff', 'irn', 'test') + tuple(TRAINING)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--size', type=int, default=VOC_SIZE[1],
                        help='long side of the image (VOC: 500, for 500x375); every crop is '
                        'scaled by the same ratio')
    parser.add_argument('--r38-width', type=int,
                        help='base_channels of ResNet-38 (64: the real network; default 64 on '
                        'CUDA, 16 on a CPU)')
    parser.add_argument('--batch', type=int,
                        help="training images per iteration (default: the config's total "
                        'batch on CUDA, 2 on a CPU); the iteration at the config batch is '
                        'projected per image')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes / GPUs the projected hours are divided by')
    parser.add_argument('--repeat', type=int, default=1, help='measured calls per stage')
    parser.add_argument('--warmup', type=int,
                        help='unmeasured calls first (default 1 on CUDA, 0 on a CPU)')
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    parser.add_argument('--stages', nargs='+', choices=STAGES, default=list(STAGES))
    parser.add_argument('--out', help='also write the tables as JSON here')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device')
    if args.workers < 1 or args.repeat < 1:
        parser.error('--workers and --repeat must be >= 1')
    cuda = args.device == 'cuda'
    args.r38_width = args.r38_width or (64 if cuda else 16)
    args.batch = args.batch if args.batch is not None else (0 if cuda else 2)
    args.warmup = args.warmup if args.warmup is not None else (1 if cuda else 0)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.filterwarnings('ignore')
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    import mmseg_hfpl  # noqa: F401
    MMLogger.get_instance('pipeline_cost', log_level='ERROR')
    init_default_scope('mmseg')

    gpu = f', {torch.cuda.get_device_name()}' if cuda else ''
    ratio = args.size / VOC_SIZE[1]
    bench_h = max(8, int(round(VOC_SIZE[0] * ratio)))
    print(f'{machine_line()}{gpu}; torch {torch.__version__}, {torch.get_num_threads()} '
          f'threads (OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS", "unset")}), device '
          f'{args.device}, fp32')
    print(f'image {args.size}x{bench_h} (ratio {ratio:.3f} of VOC 500x375; crops scaled by it), '
          f'ResNet-38 width {args.r38_width}/64 (IRN ResNet-50 full), random weights, '
          f'training batch {args.batch or "of the config"}')
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(args, tmp)
        bench.run()
    print_tables(bench, args)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(machine=machine_line(), device=args.device, torch=torch.__version__,
                           threads=torch.get_num_threads(), size=[bench.w, bench.h],
                           ratio=ratio, r38_width=args.r38_width, batch=args.batch,
                           workers=args.workers, repeat=args.repeat, warmup=args.warmup,
                           datasets=dict(DATASETS), inference=bench.inference,
                           training=bench.training,
                           pipelines=pipeline_hours(bench.inference, bench.training),
                           failed=bench.failed), f, indent=1)
    if bench.failed:
        sys.exit(f'pipeline_cost: {len(bench.failed)} stage(s) failed: '
                 f'{", ".join(bench.failed)} (the others are in the tables)')


if __name__ == '__main__':
    main()
