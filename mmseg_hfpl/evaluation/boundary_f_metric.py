from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from .functional import boundary_f_matches, boundary_f_score


@METRICS.register_module()
class BoundaryFMetric(BaseMetric):
    """Contour accuracy ``F`` (DAVIS boundary F-measure), with ``J`` (mIoU) and ``J&F``.

    Follows the official ``contour_fscore.py`` of the paper: void (``ignore_index``) ground-truth
    pixels are relabelled as background so that their boundaries count, boundary matches are
    accumulated over the whole dataset per class, and ``F`` is the mean over the foreground
    classes (all classes but ``background_index``). ``J`` is mmseg's mIoU over all classes
    (computed by :meth:`IoUMetric.intersect_and_union`, so it equals ``IoUMetric``'s ``mIoU``),
    and ``J&F`` their average. All three are reported in percent, like mmseg's metrics.

    Every processed sample appends exactly one entry, so results collected from several ranks
    by :class:`BaseMetric` are exact.

    Args:
        bound_th (float): match tolerance as a fraction of the image diagonal. Default: 0.008.
        ignore_index (int): void label of the ground truth. Default: 255.
        background_index (int, optional): class left out of the F average. Default: 0.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Default: ``'cpu'``.
        prefix (str, optional): prefix of the metric names.
    """

    default_prefix = ''  # report plain J, F, J&F (as mmseg's mIoU), without a warning

    def __init__(self,
                 bound_th: float = 0.008,
                 ignore_index: int = 255,
                 background_index: Optional[int] = 0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.bound_th = bound_th
        self.ignore_index = ignore_index
        self.background_index = background_index

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze().cpu()
            gt = data_sample['gt_sem_seg']['data'].squeeze().to(pred)
            area = IoUMetric.intersect_and_union(pred, gt, num_classes, self.ignore_index)
            gt_np = gt.numpy().astype(np.int64)
            gt_np[gt_np == self.ignore_index] = 0  # official: void boundaries count
            counts = boundary_f_matches(pred.numpy(), gt_np, num_classes, self.bound_th)
            self.results.append((counts, *(a.numpy() for a in area)))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        logger: MMLogger = MMLogger.get_current_instance()
        classes = list(self.dataset_meta['classes'])
        counts = np.sum([r[0] for r in results], axis=0)
        inter, union = (np.sum([r[i] for r in results], axis=0) for i in (1, 2))
        f_per_class = boundary_f_score(counts)
        with np.errstate(invalid='ignore', divide='ignore'):
            iou = inter / union
        foreground = [c for c in range(len(classes)) if c != self.background_index]
        f_mean = float(np.mean(f_per_class[foreground])) * 100
        j_mean = float(np.nanmean(iou)) * 100
        table = PrettyTable(field_names=['Class', 'IoU', 'F'])
        for c, name in enumerate(classes):
            table.add_row([name, f'{iou[c] * 100:.2f}',
                           '-' if c == self.background_index else f'{f_per_class[c] * 100:.2f}'])
        print_log('per class results:\n' + table.get_string(), logger=logger)
        return {'J': round(j_mean, 2), 'F': round(f_mean, 2), 'J&F': round((j_mean + f_mean) / 2, 2)}
