from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmseg.registry import METRICS
from prettytable import PrettyTable

from .dataset_scores import image_counts, summarise_counts


@METRICS.register_module()
class BoundaryFMetric(BaseMetric):
    """Contour accuracy ``F`` (DAVIS boundary F-measure), with ``J`` (mIoU) and ``J&F``.

    Follows the official ``contour_fscore.py`` of the paper: void (``ignore_index``) ground-truth
    pixels are relabelled as background so that their boundaries count, boundary matches are
    accumulated over the whole dataset per class, and ``F`` is the mean over the foreground
    classes (all classes but ``background_index``). ``J`` is mmseg's mIoU over all classes
    (the areas of :meth:`IoUMetric.intersect_and_union`, summed as exact integers, so it equals
    ``IoUMetric``'s ``mIoU``), and ``J&F`` their average. All three are reported in percent, like
    mmseg's metrics.

    Every processed sample appends exactly one entry, so results collected from several ranks
    by :class:`BaseMetric` are exact. Outside the training loop,
    :func:`~mmseg_hfpl.evaluation.dataset_scores.score_label_files` gives the same scores for
    label files in worker processes.

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
            pred = data_sample['pred_sem_seg']['data'].squeeze().cpu().numpy()
            gt = data_sample['gt_sem_seg']['data'].squeeze().cpu().numpy()
            self.results.append(
                image_counts(pred, gt, num_classes, self.ignore_index, self.bound_th))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        logger: MMLogger = MMLogger.get_current_instance()
        classes = list(self.dataset_meta['classes'])
        f_per_class, iou, scores = summarise_counts(results, self.background_index)
        table = PrettyTable(field_names=['Class', 'IoU', 'F'])
        for c, name in enumerate(classes):
            table.add_row([name, f'{iou[c] * 100:.2f}',
                           '-' if c == self.background_index else f'{f_per_class[c] * 100:.2f}'])
        print_log('per class results:\n' + table.get_string(), logger=logger)
        return scores
