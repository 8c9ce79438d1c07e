"""CAMs -> pseudo-labels -> J / F: the pipeline behind tools/make_pseudo_labels.py and
PseudoLabelHook."""
import inspect
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_gather_object, barrier, broadcast_object_list, get_dist_info
from mmengine.logging import print_log
from mmengine.utils import track_parallel_progress, track_progress

from ..datasets.checks import read_image
from ..evaluation import score_label_files
from .background_curve import background_curve, best_threshold
from .cam_inference import (labels_from_cams, load_cams, load_thresholds, multi_scale_cams,
                            save_cams, write_manifest)
from .crf import crf_cam_probabilities, crf_label_refine
from .fingerprint import (FINGERPRINT_VERSION, StaleOutputError,
                          cams_identity, check_fingerprints, model_fingerprint,
                          outputs_of_other_cams, read_fingerprint, remove_outputs,
                          write_fingerprints)
from .pmm import ppmg_labels
from .scoring import score_cam_protocol
from .writer import check_output_dirs, write_label_png, write_npz


#: the background thresholds official Spatial-BCE ``eval.py:97-104`` searches (0.20-0.38, step
#: 0.02), keeping the first with the highest mIoU
SPATIAL_BCE_BG_SEARCH = tuple(i / 100.0 for i in range(20, 40, 2))
THRESHOLD_MODES = ('fixed', 'adaptive')


def check_label_crf(label_crf: Optional[dict]) -> None:
    """Refuse a ``label_crf`` that :func:`crf_label_refine` does not take, naming the key."""
    if label_crf is None:
        return
    if not isinstance(label_crf, dict):
        raise TypeError(f'label_crf must be a dict of crf_label_refine options, got {label_crf!r}')
    known = [n for n in inspect.signature(crf_label_refine).parameters
             if n not in ('image_rgb', 'label', 'classes')]
    unknown = sorted(set(label_crf) - set(known))
    if unknown:
        raise KeyError(f'label_crf: unknown keys {unknown}; known: {known}')


def image_name(info: dict) -> str:
    return osp.splitext(osp.basename(info['img_path']))[0]


def dataset_items(dataset) -> List[dict]:
    """``img_path``, ``img_label`` and (if any) ``seg_map_path`` of every sample."""
    items = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if 'img_label' not in info:
            raise KeyError(f'sample {i} ({info.get("img_path")}) has no img_label: pseudo-labels '
                           'need a dataset with image-level labels (WSSSVOCDataset)')
        items.append(dict(img_path=info['img_path'], img_label=np.asarray(info['img_label']),
                          seg_map_path=info.get('seg_map_path')))
    return items


class PseudoLabelGenerator:
    """Writes CAMs and pseudo-labels for a list of images, then scores them.

    Output layout under ``out_dir`` (point an mmseg dataset's ``seg_map_path`` at a label
    directory to train a segmentor on it):

    - ``cams/<name>.npz``: labelled classes' CAMs (float16; with a model that learns
      thresholds, Spatial-BCE, also its per-class ``thresholds``) + ``manifest.json``;
    - ``cam/<name>.png``: argmax over [``bg_threshold`` (or the one ``bg_search`` chose), CAMs],
      or with ``threshold='adaptive'`` over [0, CAMs shifted by the learned thresholds];
    - ``crf_a<alpha>/<name>.png``: SEAM/PSA CRF on ``[(1 - max)^alpha, CAMs]``, per alpha;
    - ``crf_label/<name>.png``: IRN/SIPE label CRF of the ``cam`` labels;
    - ``aff_crf/<name>.npz`` (``affinity_labels``): the marginals of the lowest- and the
      highest-alpha CRF (float16 ``low``, ``high``), what PSA / SEAM / hfpl's AffinityNet trains
      on (:class:`~mmseg_hfpl.datasets.AffinityLabelsFromCRF` pools and combines them after the
      crop, as ``VOC12AffDataset``); ``aff_label/<name>.png``: the same combination at full
      resolution, to look at: objects of the low-alpha CRF (strong background, confident
      objects), background of the high-alpha CRF (confident background), 255 elsewhere;
    - ``ir_label/<name>.png`` (``ir_labels=dict(fg_threshold=0.3, bg_threshold=0.05)``): IRN's
      inter-pixel relation labels: objects of the label CRF at the high threshold, background
      where the label CRF at the low threshold also says background, 255 elsewhere;
    - ``ppmg/<name>.png`` (``ppmg=dict(alpha=11, ...)``): PMM's proportional pseudo-masks
      (CoV smoothing + per-class CRF, :func:`~mmseg_hfpl.pseudo_labels.pmm.ppmg_labels`).

    Palette PNGs, 0 = background. Writes are atomic; finished images are skipped unless
    ``overwrite``; no output may be in a ground-truth directory.

    Args:
        model: trained WSSS model (see :func:`multi_scale_cams`), in eval mode.
        out_dir (str): output root.
        scales, flip: multi-scale + flip CAM inference.
        normalisation (str): ``'max'`` or ``'min_max'`` (SEAM / hfpl / PMM) normalisation of
            the summed CAMs (:func:`~mmseg_hfpl.pseudo_labels.cam_inference.normalise_cams`).
        bg_threshold (float): background score of the ``cam`` labels (with a model that has its
            own background map, the factor on that map: see ``scores_with_background``).
        bg_search (sequence of float, optional): choose the background score of the ``cam``
            labels (and of the ``crf_label`` refined from them) among these instead: the first
            with the highest J (mIoU) of the CAMs on the scored images, as official
            Spatial-BCE ``eval.py:97-104`` (:data:`SPATIAL_BCE_BG_SEARCH`) chooses the
            threshold of ``make_crf.py``, whose labels give the next phase's prior.
        threshold (str): ``'fixed'`` (``bg_threshold`` / ``bg_search``) or ``'adaptive'``: the
            ``cam`` labels use the model's learned per-image thresholds (Spatial-BCE,
            :func:`~mmseg_hfpl.pseudo_labels.cam_inference.threshold_shift`), saved with the CAMs.
        crf_alphas (sequence of float): SEAM-style CRF variants (e.g. (4, 24); hfpl: (1, 24)).
        label_crf (dict, optional): IRN-style label CRF, options of :func:`crf_label_refine`,
            e.g. ``dict(gt_prob=0.7)`` (IRN / SIPE kernels) or Spatial-BCE's
            ``dict(gt_prob=0.7, bilateral=(40, 5, 10))``.
        crf_cfg (dict): ``iterations``, ``gaussian``, ``bilateral`` of the SEAM-style CRF.
        num_classes (int), palette: dataset meta.
        affinity_labels (bool): write ``aff_label/`` (needs two ``crf_alphas``).
        ir_labels (dict, optional): write ``ir_label/`` with these thresholds (IRN: 0.30 / 0.05).
        ppmg (dict, optional): write ``ppmg/`` with these ``ppmg_labels`` options.
        workers (int): processes for the CRF stage (0 = in process).
    """

    def __init__(self,
                 model,
                 out_dir: str,
                 num_classes: int,
                 palette=None,
                 scales: Sequence[float] = (0.5, 1.0, 1.5, 2.0),
                 flip: bool = True,
                 normalisation: str = 'max',
                 bg_threshold: float = 0.25,
                 bg_search: Optional[Sequence[float]] = None,
                 threshold: str = 'fixed',
                 crf_alphas: Sequence[float] = (),
                 label_crf: Optional[dict] = None,
                 crf_cfg: Optional[dict] = None,
                 overwrite: bool = False,
                 affinity_labels: bool = False,
                 ir_labels: Optional[dict] = None,
                 ppmg: Optional[dict] = None,
                 workers: int = 0) -> None:
        if affinity_labels and len(set(crf_alphas)) < 2:
            raise ValueError('affinity_labels needs two different crf_alphas (e.g. (4, 24))')
        if threshold not in THRESHOLD_MODES:
            raise ValueError(f'threshold must be one of {THRESHOLD_MODES}, got {threshold!r}')
        if threshold == 'adaptive' and not hasattr(model, 'fuse_cam_passes'):
            raise ValueError(f"threshold='adaptive' needs a model with learned thresholds "
                             f'(SpatialBCESegmentor), got {type(model).__name__}')
        if threshold == 'adaptive' and bg_search:
            raise ValueError("bg_search chooses a fixed background threshold: it does not go "
                             "with threshold='adaptive'")
        if bg_search is not None and len(bg_search) == 0:
            bg_search = None
        check_label_crf(label_crf)
        self.bg_search = None if bg_search is None else tuple(float(t) for t in bg_search)
        self.threshold = threshold
        self.affinity_labels = affinity_labels
        self.ir_labels = ir_labels
        self.ppmg = ppmg
        self.model = model
        self.out_dir = out_dir
        self.num_classes = num_classes
        self.palette = palette
        self.scales = tuple(scales)
        self.flip = flip
        self.normalisation = normalisation
        self.bg_threshold = bg_threshold
        self.crf_alphas = tuple(crf_alphas)
        self.label_crf = label_crf
        self.crf_cfg = crf_cfg or {}
        self.overwrite = overwrite
        self.workers = workers

    @property
    def variants(self) -> List[str]:
        names = ['cam'] + [f'crf_a{a:g}' for a in self.crf_alphas]
        names += ['crf_label'] if self.label_crf is not None else []
        names += ['aff_label', 'aff_crf'] if self.affinity_labels else []
        names += ['ppmg'] if self.ppmg is not None else []
        return names + (['ir_label'] if self.ir_labels is not None else [])

    def path(self, variant: str, name: str) -> str:
        if variant in ('cams', 'aff_crf'):
            return osp.join(self.out_dir, variant, name + '.npz')
        return osp.join(self.out_dir, variant, name + '.png')

    def run(self,
            items: List[dict],
            curve: bool = False,
            score_items: Optional[List[dict]] = None,
            score_set: Optional[str] = None) -> Dict[str, dict]:
        """Generate (this rank's share of) the outputs, then score them on rank 0.

        ``items`` are the images to label; ``score_items`` (default: ``items``) the images to
        score, with their masks: what is labelled (e.g. VOC train_aug, to train the next stage)
        and what is scored (VOC train, 1,464 masks, as the paper's Table 1) are separate. Scored
        images missing from ``items`` are labelled too.

        Returns ``metrics`` (rank 0, also written to ``metrics.json``; empty when a scored image
        has no mask): ``scored_on`` (``score_set`` and the number of images), J / F / J&F of
        every label directory (``cam`` at the fixed ``bg_threshold``), and the official protocol
        of :func:`~mmseg_hfpl.pseudo_labels.scoring.score_cam_protocol` (sweep-best J with its
        threshold, F at 0.25, the GT-free Otsu threshold); each entry says ``how`` it was
        obtained. ``curve`` also writes F along the sweep to ``curve.csv`` / ``curve.png``.
        """
        score_items = items if score_items is None else score_items
        names = {image_name(it) for it in items}
        items = list(items) + [it for it in score_items if image_name(it) not in names]
        self.check_outputs(items + score_items)
        rank, world_size = get_dist_info()
        if self.bg_search and not (score_items and all(it.get('seg_map_path')
                                                       for it in score_items)):
            raise ValueError('bg_search chooses the background threshold on the scored images: '
                             'it needs a ground-truth mask for every one (a --score-split with '
                             'masks)')
        fingerprints = self.fingerprints(score_items)
        check_fingerprints(fingerprints, self.overwrite)
        stale = self.stale_outputs(fingerprints)
        if rank == 0:
            self.remove_stale(stale)
            write_fingerprints(fingerprints)
            write_fingerprints({self.out_dir: self.root_fingerprint(fingerprints)})
        barrier()
        mine = items[rank::world_size]
        todo = [it for it in mine if self.overwrite or not all(
            osp.isfile(self.path(v, image_name(it))) for v in ['cams'] + self.variants)]
        print_log(f'pseudo-labels (rank {rank}): {len(mine) - len(todo)} of {len(mine)} images '
                  f'already done with the same settings; writing to {self.out_dir}',
                  logger='current')
        if todo:
            self._infer_cams(todo)
        bg_threshold, search = self.bg_threshold, None
        if self.bg_search:  # every scored image's CAMs exist once every rank is here
            barrier()
            search = [self.search_background(score_items) if rank == 0 else None]
            if world_size > 1:
                broadcast_object_list(search, src=0)
            search = search[0]
            bg_threshold = search['threshold']
            print_log(f'background search: J {search["J"]:.2f} at threshold {bg_threshold:.2f} '
                      f'(candidates {self.bg_search[0]:g}-{self.bg_search[-1]:g})',
                      logger='current')
        if todo:
            tasks = [(it, self.label_cfg(bg_threshold)) for it in todo]
            if self.workers > 0:
                track_parallel_progress(write_pseudo_labels, tasks, self.workers)
            else:
                track_progress(write_pseudo_labels, tasks)
        barrier()
        written = all_gather_object([image_name(it) for it in todo]) if world_size > 1 else \
            [[image_name(it) for it in todo]]
        if rank != 0:
            return {}
        done = [n for per_rank in written for n in per_rank]
        if len(set(done)) != len(done):  # cannot happen with the strided split; cheap to check
            raise RuntimeError('an image was written by more than one rank')
        print_log(f'pseudo-labels: wrote {" + ".join(str(len(w)) for w in written)} = '
                  f'{len(done)} images on {world_size} rank(s), each once', logger='current')
        write_manifest(osp.join(self.out_dir, 'cams'), dict(
            scales=list(self.scales), flip=self.flip, normalisation=self.normalisation,
            bg_threshold=bg_threshold, bg_search=self.bg_search, threshold=self.threshold,
            crf_alphas=list(self.crf_alphas),
            label_crf=self.label_crf, images=[image_name(it) for it in items],
            gt=[it.get('seg_map_path') for it in items]))
        if not score_items or not all(it.get('seg_map_path') for it in score_items):
            if curve:
                raise ValueError('the background curve needs a ground-truth mask for every image')
            return {}
        score_set = score_set or 'the labelled images'
        print_log(f'scoring {len(score_items)} images of {score_set}', logger='current')
        metrics = {'scored_on': dict(set=score_set, images=len(score_items))}
        # affinity / relation labels hold 255 (unknown) and are not a segmentation to score
        for v in self.variants:
            if v not in ('aff_label', 'aff_crf', 'ir_label'):
                metrics[v] = self.score(score_items, v)
        if self.threshold == 'adaptive':
            metrics['cam']['how'] = "labels at the model's learned per-image thresholds"
        else:
            metrics['cam']['threshold'] = bg_threshold
            metrics['cam']['how'] = 'threshold labels at the fixed background of the config' \
                if search is None else 'threshold labels at the background of cam_bg_search'
        if search is not None:
            metrics['cam_bg_search'] = search
        protocol = score_cam_protocol(
            [self.path('cams', image_name(it)) for it in score_items],
            [it['seg_map_path'] for it in score_items], self.num_classes,
            own_background=getattr(self.model, 'cam_background', False), workers=self.workers,
            curve_prefix=osp.join(self.out_dir, 'curve') if curve else None)
        metrics.update(protocol)
        best = protocol['cam_sweep_best']
        print_log(f'background sweep: best J {best["J"]:.2f} at threshold '
                  f'{best["threshold"]:.2f}' + (f'; curve written to {self.out_dir}/curve.csv '
                                                'and curve.png' if curve else ''),
                  logger='current')
        metrics = self.keep_metrics(metrics)
        with open(osp.join(self.out_dir, 'metrics.json'), 'w') as f:
            json.dump(metrics, f, indent=1)
        return metrics

    def root_fingerprint(self, fingerprints: Dict[str, dict]) -> dict:
        """The record of the output root: which CAMs all its outputs are made from."""
        cams = dict(fingerprints[osp.join(self.out_dir, 'cams')])
        cams.pop('kind')
        return dict(kind='pseudo_labels', cams=cams)

    def stale_outputs(self, fingerprints: Dict[str, dict]) -> List[str]:
        """What an ``overwrite`` run removes first, so that the output root holds the outputs
        of one set of CAMs: every output directory of other CAMs (any kind, refine outputs
        included: :func:`~.fingerprint.outputs_of_other_cams`), and with ``overwrite`` the
        directories this run rewrites whose settings differ (no file of the old settings
        stays); the root's scores (``metrics.json``, ``curve.*``) when its CAMs change.

        Raises:
            StaleOutputError: without ``overwrite``, when there are any (naming them).
        """
        cams = self.root_fingerprint(fingerprints)['cams']
        stale = outputs_of_other_cams(self.out_dir, cams)
        for directory, fingerprint in fingerprints.items():
            old = read_fingerprint(directory)
            if old is not None and old != json.loads(json.dumps(
                    dict(fingerprint, version=FINGERPRINT_VERSION))) and directory not in stale:
                stale.append(directory)
        old_root = cams_identity(read_fingerprint(self.out_dir)) or cams_identity(
            read_fingerprint(osp.join(self.out_dir, 'cams')))  # before root records
        if old_root is not None and old_root != json.loads(json.dumps(cams)):
            stale.append(self.out_dir)  # the scores of the old CAMs
        if stale and not self.overwrite:
            raise StaleOutputError(
                f'{self.out_dir} holds outputs made from other CAMs (another checkpoint or other '
                f'CAM settings): {", ".join(stale)}; they would be mixed with the new ones. Use '
                '--overwrite to remove them and make everything anew from the new CAMs (it '
                'removes only outputs of this project), or another --out.')
        return stale

    def remove_stale(self, stale: List[str]) -> None:
        """Remove the outputs :meth:`stale_outputs` found (never files of others)."""
        for directory in stale:
            if directory == self.out_dir:
                for name in ('metrics.json', 'curve.csv', 'curve.png'):
                    if osp.isfile(osp.join(self.out_dir, name)):
                        os.remove(osp.join(self.out_dir, name))
                print_log(f'overwrite: removed the scores of the old CAMs from {self.out_dir}',
                          logger='current')
                continue
            left = remove_outputs(directory)
            print_log(f'overwrite: removed the outputs of other settings in {directory}'
                      + (f' (left files of other types: {left})' if left else ''),
                      logger='current')

    def keep_metrics(self, metrics: Dict[str, dict]) -> Dict[str, dict]:
        """``metrics`` plus the scores in the existing ``metrics.json`` of label directories
        this run kept (same CAMs, e.g. ``crf_a1/`` of an earlier run with ``--crf 1``), when
        they were scored on the same images; the rest is recomputed or dropped."""
        path = osp.join(self.out_dir, 'metrics.json')
        if not osp.isfile(path):
            return metrics
        with open(path) as f:
            old = json.load(f)
        if old.get('scored_on') != metrics.get('scored_on'):
            return metrics
        kept = {k: v for k, v in old.items() if k not in metrics and k != 'cams'
                and read_fingerprint(osp.join(self.out_dir, k)) is not None}
        if kept:
            print_log(f'metrics.json keeps the scores of the outputs kept from an earlier run: '
                      f'{", ".join(sorted(kept))}', logger='current')
        return dict(metrics, **kept)

    def fingerprints(self, score_items: Optional[List[dict]] = None) -> Dict[str, dict]:
        """What determines each output directory (see :mod:`.fingerprint`): the model's
        parameters and the CAM inference settings for ``cams/``, those plus each variant's own
        settings for the label directories (with ``bg_search``, the candidates and the scored
        images instead of a threshold)."""
        cams = dict(model=model_fingerprint(self.model), scales=list(self.scales),
                    flip=self.flip, normalisation=self.normalisation)
        if hasattr(self.model, 'fuse_cam_passes'):  # mean of the passes' maps, + thresholds
            cams['fusion'] = type(self.model).__name__
        low, high = (min(self.crf_alphas), max(self.crf_alphas)) if self.crf_alphas else (0, 0)
        if self.threshold == 'adaptive':
            background = dict(threshold='adaptive')
        elif self.bg_search:
            background = dict(bg_search=list(self.bg_search), scored=sorted(
                image_name(it) for it in score_items or []))
        else:
            background = dict(bg_threshold=self.bg_threshold)
        own = {'cam': dict(background),
               'crf_label': dict(background, label_crf=self.label_crf),
               'aff_label': dict(low=low, high=high, crf_cfg=self.crf_cfg, unary='raw'),
               'aff_crf': dict(low=low, high=high, crf_cfg=self.crf_cfg, unary='raw'),
               'ppmg': dict(ppmg=self.ppmg), 'ir_label': dict(ir_labels=self.ir_labels)}
        # unary 'raw': the CRF scores unnormalised, as the official (before: divided by their sum)
        own.update({f'crf_a{a:g}': dict(alpha=a, crf_cfg=self.crf_cfg, unary='raw')
                    for a in self.crf_alphas})
        out = {osp.join(self.out_dir, 'cams'): dict(kind='cams', **cams)}
        for v in self.variants:
            out[osp.join(self.out_dir, v)] = dict(kind=v, cams=cams, **own[v])
        return out

    def check_outputs(self, items: List[dict]) -> None:
        """Refuse any output directory in the images' or ground truth's directories."""
        data_dirs = {osp.dirname(it['seg_map_path']) for it in items if it.get('seg_map_path')}
        data_dirs |= {osp.dirname(it['img_path']) for it in items}
        check_output_dirs([self.out_dir] + [osp.join(self.out_dir, v) for v in
                                            ['cams'] + self.variants], data_dirs)

    def _infer_cams(self, items: List[dict]) -> None:
        self.model.eval()
        pending = [it for it in items if self.overwrite or
                   not osp.isfile(self.path('cams', image_name(it)))]
        if not pending:
            return

        def infer(item):
            image = read_image(item['img_path'])
            cams, classes, thresholds = multi_scale_cams(
                self.model, image, item['img_label'], self.scales, self.flip, self.normalisation,
                with_thresholds=True)
            save_cams(self.path('cams', image_name(item)), cams, classes, thresholds)

        with torch.no_grad():
            track_progress(infer, pending)

    def search_background(self, score_items: List[dict]) -> dict:
        """The background threshold of ``bg_search`` (official Spatial-BCE ``eval.py:97-104``):
        J (mIoU) of the argmax over [threshold, CAMs] of the scored images at each candidate,
        in the given order; the first with the highest J wins (``miou > highest``). J is
        :func:`background_curve`'s (classes absent from both prediction and masks are left out
        of the mean, where ``eval.py`` counts them 0: equal on VOC train, where every class
        occurs)."""
        rows = background_curve([self.path('cams', image_name(it)) for it in score_items],
                                [it['seg_map_path'] for it in score_items], self.num_classes,
                                thresholds=self.bg_search, with_f=False, workers=self.workers)
        best = best_threshold(rows)
        return dict(J=best['J'], threshold=best['threshold'],
                    candidates={f'{r["threshold"]:g}': r['J'] for r in rows},
                    how='first best mIoU of the CAMs over the candidate background thresholds '
                    '(official Spatial-BCE eval.py); the cam and crf_label labels use it')

    def label_cfg(self, bg_threshold: Optional[float] = None) -> dict:
        """What the (picklable, model-free) label stage needs (``bg_threshold``: the background
        of the ``cam`` labels, default the configured one)."""
        bg = self.bg_threshold if bg_threshold is None else bg_threshold
        return dict(out_dir=self.out_dir, palette=self.palette, bg_threshold=bg,
                    adaptive=self.threshold == 'adaptive', crf_alphas=self.crf_alphas,
                    label_crf=self.label_crf, crf_cfg=self.crf_cfg,
                    affinity_labels=self.affinity_labels, ir_labels=self.ir_labels,
                    ppmg=self.ppmg, overwrite=self.overwrite)

    def score(self, items: List[dict], variant: str) -> Dict[str, float]:
        """J, F and J&F of one output directory against the ground truth."""
        res = score_label_files([self.path(variant, image_name(it)) for it in items],
                                [it['seg_map_path'] for it in items], self.num_classes,
                                workers=self.workers)
        print_log(f'{variant}: J {res["J"]:.2f}  F {res["F"]:.2f}  J&F {res["J&F"]:.2f}',
                  logger='current')
        return res


def affinity_training_labels(low_alpha: np.ndarray, high_alpha: np.ndarray) -> np.ndarray:
    """PSA's AffinityNet labels from two label maps: objects of the low-alpha CRF, background of
    the high-alpha CRF, 255 (unknown) elsewhere (``VOC12AffDataset``, on pooled maps there)."""
    label = low_alpha.astype(np.uint8).copy()
    label[low_alpha == 0] = 255
    label[high_alpha == 0] = 0
    return label


def ir_training_labels(image_rgb: np.ndarray, cams: np.ndarray, classes: np.ndarray,
                       fg_threshold: float = 0.30, bg_threshold: float = 0.05,
                       gt_prob: float = 0.7) -> np.ndarray:
    """IRN's ``cam_to_ir_label``: label CRF of the CAMs thresholded at ``fg_threshold`` gives the
    objects, at ``bg_threshold`` the background; 255 (unknown) elsewhere."""
    shape = image_rgb.shape[:2]
    fg = crf_label_refine(image_rgb, labels_from_cams(cams, classes, fg_threshold, shape), classes,
                          gt_prob=gt_prob)
    bg = crf_label_refine(image_rgb, labels_from_cams(cams, classes, bg_threshold, shape), classes,
                          gt_prob=gt_prob)
    label = fg.copy()
    label[fg == 0] = 255
    label[(fg == 0) & (bg == 0)] = 0
    return label


def write_pseudo_labels(task) -> None:
    """Label stage for one image: ``cam`` labels and the CRF variants from its saved CAMs; only
    the missing outputs are computed (unless ``overwrite``)."""
    item, cfg = task
    name = image_name(item)
    out = cfg['out_dir']
    cam_path = osp.join(out, 'cams', name + '.npz')
    cams, classes = load_cams(cam_path)
    thresholds = load_thresholds(cam_path) if cfg.get('adaptive') else None
    image_bgr = read_image(item['img_path'])
    image_rgb = np.ascontiguousarray(image_bgr[..., ::-1])
    makers = {'cam': lambda: labels_from_cams(cams, classes, cfg['bg_threshold'],
                                              image_rgb.shape[:2], thresholds=thresholds)}
    for alpha in cfg['crf_alphas']:
        makers[f'crf_a{alpha:g}'] = lambda a=alpha: argmax_label(made(f'marg_a{a:g}'))
        makers[f'marg_a{alpha:g}'] = lambda a=alpha: crf_cam_probabilities(
            image_rgb, cams, classes, a, **cfg['crf_cfg'])
    if cfg['label_crf'] is not None:
        makers['crf_label'] = lambda: crf_label_refine(image_rgb, made('cam'), classes,
                                                       **cfg['label_crf'])
    if cfg['affinity_labels']:
        low, high = min(cfg['crf_alphas']), max(cfg['crf_alphas'])
        makers['aff_label'] = lambda: affinity_training_labels(made(f'crf_a{low:g}'),
                                                               made(f'crf_a{high:g}'))
        makers['aff_crf'] = lambda: dict(low=made(f'marg_a{low:g}')[0],
                                         high=made(f'marg_a{high:g}')[0])
    if cfg['ppmg'] is not None:
        makers['ppmg'] = lambda: ppmg_labels(image_rgb, cams, classes, **cfg['ppmg'])
    if cfg['ir_labels'] is not None:
        makers['ir_label'] = lambda: ir_training_labels(image_rgb, cams, classes,
                                                        **cfg['ir_labels'])
    cache = {}

    def made(variant):
        if variant not in cache:
            cache[variant] = makers[variant]()
        return cache[variant]

    for variant in makers:
        if variant.startswith('marg_'):
            continue  # CRF marginals, computed for the variants that need them
        path = osp.join(out, variant, name + ('.npz' if variant == 'aff_crf' else '.png'))
        if not cfg['overwrite'] and osp.isfile(path):
            continue
        if variant == 'aff_crf':
            save_crf_maps(path, **made(variant))
        else:
            write_label_png(path, made(variant), cfg['palette'])


def argmax_label(marginals_keys) -> np.ndarray:
    """(H, W) uint8 label of (marginals (N, H, W), keys (N, )): the key of the largest."""
    marg, keys = marginals_keys
    return keys[np.argmax(marg, axis=0)]


def save_crf_maps(path: str, low: np.ndarray, high: np.ndarray) -> None:
    """Atomically write two CRF marginal stacks (float16 ``low``, ``high``) as a .npz."""
    write_npz(path, low=low.astype(np.float16), high=high.astype(np.float16))
