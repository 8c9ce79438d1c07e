"""Spatial-BCE's head (Wu et al., ECCV 2022; allenwu97/Spatial-BCE ``models/resnet38.py``)."""
import functools
import json
import math
import os.path as osp
import weakref
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor
from torch.optim.optimizer import register_optimizer_step_pre_hook

from .add_on import AddOnMixin
from .cam_head import stack_image_labels


def in_threshold_phase(iteration: int, cycle: int = 100, network_iters: int = 80) -> bool:
    """Spatial-BCE's schedule (official ``train.py`` / ``Spatial_BCE_Loss``): of every ``cycle``
    iterations the first ``network_iters`` train the network, the rest the threshold head."""
    return iteration % cycle >= network_iters


class ForegroundPrior:
    """The per-image, per-class foreground-ratio prior ``fg`` of Spatial-BCE, looked up by image
    name (the file name of ``img_path`` without extension).

    Sources, in this order:

    - ``file``: the official format, a ``.npy`` dict (or ``.json``) ``name -> C ratios``
      (phase 1 uses the official ``datasets/voc12_init.npy``);
    - ``label_dir``: a directory of label PNGs (``<name>.png``, values = class indices, 0 the
      background), e.g. the ``crf_label/`` written by ``tools/make_pseudo_labels.py
      --label-crf`` in the previous phase: ratio of class ``c`` = share of the image's pixels
      labelled ``c + 1`` (official ``create_fg.py``); read once per image and cached; labels
      whose fingerprint names other CAMs than the ``cams/`` beside them are refused;
    - ``default``: a ratio for the images found in neither (None: a missing image is an error).
    """

    def __init__(self, num_classes: int, file: Optional[str] = None,
                 label_dir: Optional[str] = None, default: Optional[float] = None) -> None:
        if file is None and label_dir is None and default is None:
            raise ValueError('fg_prior needs a file, a label_dir or a default ratio')
        if default is not None and not 0 <= default <= 1:
            raise ValueError(f'fg_prior.default must be in [0, 1], got {default}')
        self.num_classes = num_classes
        self.file = file
        self.label_dir = label_dir
        self.default = default
        self.table: Dict[str, np.ndarray] = {}
        self._file_loaded = file is None  # read at the first lookup: building the model (and
        # inference) needs no prior file
        self._label_dir_checked = False  # at the first lookup too

    def _load_file(self) -> None:
        file = self.file
        if not osp.isfile(file):
            raise FileNotFoundError(f'fg_prior.file {file!r} does not exist (Spatial-BCE phase 1 '
                                    'reads the official datasets/voc12_init.npy)')
        if file.endswith('.json'):
            with open(file) as f:
                table = json.load(f)
        else:
            table = np.load(file, allow_pickle=True).item()
        for name, ratios in table.items():
            ratios = np.asarray(ratios, np.float64)
            self.table.setdefault(str(name), self._check(ratios, f'{file}:{name}'))
        self._file_loaded = True

    def _check(self, ratios: np.ndarray, where: str) -> np.ndarray:
        if ratios.shape != (self.num_classes, ):
            raise ValueError(f'fg_prior {where}: expected {self.num_classes} ratios, got shape '
                             f'{ratios.shape}')
        return ratios

    def ratios(self, name: str) -> np.ndarray:
        if not self._file_loaded:
            self._load_file()
        if name in self.table:
            return self.table[name]
        path = osp.join(self.label_dir, f'{name}.png') if self.label_dir else None
        if path is not None and not self._label_dir_checked:
            from ...pseudo_labels.fingerprint import check_label_cams
            check_label_cams(self.label_dir)  # labels of the CAMs beside them, or refused
            self._label_dir_checked = True
        if path is not None and osp.exists(path):
            label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            counts = np.bincount(label.ravel(), minlength=self.num_classes + 1)
            self.table[name] = counts[1:self.num_classes + 1] / label.size  # create_fg.py
            return self.table[name]
        if self.default is None:
            raise KeyError(f'no foreground-ratio prior for image {name!r} (fg_prior: '
                           f'{len(self.table)} names from file, label_dir={self.label_dir})')
        return np.full(self.num_classes, self.default)

    def __call__(self, batch_data_samples: SampleList) -> Tensor:
        """(B, C) float ratios of the images of the batch."""
        names = [osp.splitext(osp.basename(s.metainfo['img_path']))[0]
                 for s in batch_data_samples]
        return torch.from_numpy(np.stack([self.ratios(n) for n in names])).float()


def _threshold_update_as_torch17(head_ref: 'weakref.ref', optimizer, args, kwargs) -> None:
    """Optimizer step pre-hook of a :class:`SpatialBCEHead`: after a network iteration, give the
    threshold head the gradient the official code's optimizer sees there. The official
    environment pins PyTorch 1.7 (``requirements.txt``), whose ``optimizer.zero_grad()``
    (``train.py:143``) zeroes gradients in place instead of dropping them, and the threshold head
    is not in the graph of a network iteration: so its gradient is None until the first
    threshold iteration (SGD skips it) and a zero tensor afterwards, on which SGD keeps applying
    weight decay and momentum. We drop our zero-weighted (DDP) gradient in the first case and
    keep it, exactly zero, in the second."""
    head = head_ref()
    if head is None or not head._threshold_unused:
        return
    head._threshold_unused = False
    for param in head.threshold.parameters():
        if head._threshold_never_trained:
            param.grad = None
        elif param.grad is None:
            param.grad = torch.zeros_like(param)
        else:
            param.grad.zero_()


@MODELS.register_module()
class SpatialBCEHead(AddOnMixin, BaseDecodeHead):
    """Spatial-BCE on ResNet-38's ``conv6`` (4096 ch, already ReLU-ed): a bias-free 1x1
    ``mask_layer_downsample`` to ``channels`` (128), one bias-free 1x1 head per foreground class
    (``fc_list``) scaled by a learnable per-class temperature ``exp(temperature)`` (init
    ``log 10``), and a bias-free 1x1 ``threshold`` head on ``conv6``; all Xavier-uniform, no GAP
    (official ``ResNet38``). The class heads' output before the temperature is the CAM.

    Training (``loss``): iterations ``i % cycle < network_iters`` train the network with the
    quantile threshold, the others only the threshold head (:class:`SpatialBCELoss`); the KL
    term acts in every iteration (official ``train.py:136-140``). The iteration is read from
    MMEngine's message hub
    (``iter``, set by the runner's ``RuntimeInfoHook`` before each iteration, counted across
    epochs; 0 outside a runner), so epoch- and iteration-based loops both work. ``fg_prior``
    configures :class:`ForegroundPrior`. The log shows ``threshold_phase`` (0 or 1).

    The hfpl ``add_on`` sees the temperature-scaled logits (B, C-1, h, w) the spatial BCE and
    KL train, at ``conv6``'s stride (8), no background map, and the RGB input. It follows eq. 16
    (hfpl Sec. 4.2): the classification loss becomes ``(1 - lambda) L_cls + lambda L_isl``
    with ``lambda = add_on.isl.lam``. Spatial-BCE
    has no GAP term: its classification loss is the network iterations' spatial BCE (the BCE
    of every pixel of the labelled classes around the foreground-ratio threshold plus
    ``-log(1 - p)`` of the absent ones, which replaces the image-level BCE), so ``loss_sbce``
    is scaled by ``1 - lambda`` and ``loss_isl`` = ``lambda`` ISL is added, in the network
    iterations. FSL (weight ``add_on.fsl.weight``) is added there too. In the threshold
    iterations the objective stays the official one (threshold loss + KL): the add-on trains
    the network's CAMs, and these iterations exist to fit the threshold head to fixed scores
    (the official code detaches them); ``loss_isl`` / ``loss_fsl`` are logged as 0 there.

    Distributed training: in the network iterations the threshold head's output enters the
    loss with weight 0, so DDP sees a gradient for every parameter in every iteration (no
    ``find_unused_parameters``, which would also hide genuinely unused parameters), and the
    head's optimizer step pre-hook (:func:`_threshold_update_as_torch17`) makes that gradient
    the official one under PyTorch 1.7: None before the first threshold iteration (no update),
    zero afterwards (SGD's weight decay and momentum still move the threshold head in the
    network iterations). Its loss gradient comes only from the threshold iterations; the
    network is trained in every iteration, by the KL term and the threshold loss through
    ``conv6``, in the network iterations also by the spatial BCE.

    Args:
        fg_prior (dict): ``file`` / ``label_dir`` / ``default`` of :class:`ForegroundPrior`.
        cycle (int): length of the network/threshold cycle. Default: 100.
        network_iters (int): network iterations at the start of every cycle. Default: 80.
        init_temperature (float): initial ``log`` temperature. Default: ``log(10)``.
        loss_decode (dict): :class:`SpatialBCELoss`.
        loss_kl (dict): :class:`ForegroundRatioKLLoss`.
        add_on (dict, optional): the hfpl add-on (see above, :class:`~.add_on.AddOn`).
        **kwargs: :class:`BaseDecodeHead` arguments; ``channels`` is the mask layer's width and
            ``num_classes`` counts the background.
    """

    def __init__(self,
                 fg_prior: ConfigType,
                 cycle: int = 100,
                 network_iters: int = 80,
                 init_temperature: float = math.log(10.0),
                 loss_decode: ConfigType = dict(type='SpatialBCELoss'),
                 loss_kl: ConfigType = dict(type='ForegroundRatioKLLoss'),
                 add_on: Optional[ConfigType] = None,
                 **kwargs) -> None:
        self.reject_old_add_on_keys(kwargs)
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(loss_decode=loss_decode, **kwargs)
        if not 0 < network_iters <= cycle:
            raise ValueError(f'need 0 < network_iters <= cycle, got {network_iters}, {cycle}')
        self.cycle, self.network_iters = cycle, network_iters
        self.num_fg = self.num_classes - 1
        self.fg_prior = ForegroundPrior(self.num_fg, **fg_prior)
        del self.conv_seg  # replaced by the per-class heads
        self.mask_layer_downsample = nn.Conv2d(self.in_channels, self.channels, 1, bias=False)
        self.fc_list = nn.ModuleList(
            [nn.Conv2d(self.channels, 1, 1, bias=False) for _ in range(self.num_fg)])
        self.temperature = nn.Parameter(torch.full((self.num_fg, ), float(init_temperature)))
        self.threshold = nn.Conv2d(self.in_channels, self.num_fg, 1, bias=False)
        self.loss_kl = MODELS.build(loss_kl)
        self.init_add_on(add_on)
        self._threshold_unused = False  # set by a network iteration, read by the step hook
        self._threshold_never_trained = True  # no threshold iteration before this one
        handle = register_optimizer_step_pre_hook(
            functools.partial(_threshold_update_as_torch17, weakref.ref(self)))
        weakref.finalize(self, handle.remove)

    def init_weights(self) -> None:
        for conv in [self.mask_layer_downsample, self.threshold, *self.fc_list]:
            nn.init.xavier_uniform_(conv.weight)  # official ResNet38.__init__

    def forward(self, inputs: List[Tensor]) -> Dict[str, Tensor]:
        """``cam`` (B, C-1, h, w): class heads' output (official ``forward_cam``); ``logits``:
        ``cam * exp(temperature)`` (official ``forward``); ``threshold``: threshold head output."""
        x = self._transform_inputs(inputs)
        if self.dropout is not None:
            x = self.dropout(x)
        feat = self.mask_layer_downsample(x)
        cam = torch.cat([fc(feat) for fc in self.fc_list], dim=1)
        logits = cam * self.temperature.exp()[None, :, None, None]
        return dict(cam=cam, logits=logits, threshold=self.threshold(x))

    def predict(self, inputs: List[Tensor], batch_img_metas: List[dict],
                test_cfg: ConfigType) -> Tensor:
        """The CAMs (B, C-1, h, w) (class heads without temperature, before the sigmoid)."""
        return self.forward(inputs)['cam']

    @staticmethod
    def current_iteration() -> int:
        return int(MessageHub.get_current_instance().get_info('iter', 0))

    def current_threshold_phase(self) -> bool:
        return in_threshold_phase(self.current_iteration(), self.cycle, self.network_iters)

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType,
             images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        return self.loss_by_feat(self.forward(inputs), batch_data_samples, images)

    def loss_by_feat(self, out: Dict[str, Tensor], batch_data_samples: SampleList,
                     images: Optional[Tensor] = None) -> Dict[str, Tensor]:
        logits = out['logits']
        label = stack_image_labels(batch_data_samples, self.num_fg).to(logits.device)
        fg_ratio = self.fg_prior(batch_data_samples).to(logits.device)
        phase = self.current_threshold_phase()
        loss_sbce = self.loss_decode(logits, label, fg_ratio, out['threshold'],
                                     threshold_phase=phase)
        self._threshold_unused = not phase
        # the first threshold iteration is `network_iters` (none when it equals the cycle)
        self._threshold_never_trained = (self.current_iteration() < self.network_iters
                                         or self.network_iters == self.cycle)
        if not phase:  # unused threshold head: weight 0 for DDP, its gradient set by the hook
            loss_sbce = loss_sbce + 0.0 * out['threshold'].float().mean()
        losses = {
            self.loss_decode.loss_name: loss_sbce,
            self.loss_kl.loss_name: self.loss_kl(logits, label, fg_ratio),
        }
        if phase:  # the official threshold iteration: the add-on off, logged as 0
            losses.update(self.add_on_zeros(logits))
        else:  # eq. 16: (1 - lambda) L_sbce + lambda L_isl, and FSL
            losses = self.add_on_losses(losses, [self.loss_decode.loss_name], logits, label,
                                        images)
        losses['threshold_phase'] = logits.new_tensor(float(phase))
        return losses
