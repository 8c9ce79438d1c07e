import numpy as np
import torch
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackWSSSInputs(PackSegInputs):
    """:class:`PackSegInputs` that also packs the image-level labels.

    ``results['img_label']`` (multi-hot over the foreground classes, from
    :class:`WSSSVOCDataset`) becomes the data field ``gt_img_label`` (float tensor) of the
    :class:`SegDataSample`, so it moves to the device with the batch.
    """

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'img_label' not in results:
            raise KeyError(f'no image-level label (img_label) for {results.get("img_path")!r}: '
                           'use a dataset that provides them, e.g. WSSSVOCDataset')
        label = np.asarray(results['img_label'], dtype=np.float32)
        packed['data_samples'].gt_img_label = torch.from_numpy(label.copy())
        return packed
