"""The hfpl add-on, one way for every WSSS head: ``add_on=dict(isl=dict(...), fsl=dict(...))``.

- ``isl``: the importance sampling loss (eqs. 14-18) mixed with the head's own image-level
  classification loss by eq. 16, ``(1 - lam) * L_cls + lam * L_isl``; keys ``lam`` (eq. 16's
  lambda), ``num_samples`` (N of eq. 18), ``posterior`` (``'binomial'``, eq. 14, or
  ``'multinomial'``, eq. 5) and optionally ``loss_name``;
- ``fsl``: the feature similarity loss (eqs. 9-13), added with weight ``weight``; the other keys
  are those of :class:`~mmseg_hfpl.losses.FeatureSimilarityLoss` (``mu``, ``sigma``, ``gating``,
  ``subtract_min``, ``with_background``, ``mask_absent``, ``learnable``, ``upsample_factor``,
  ``loss_name``).

A head mixes in :class:`AddOnMixin`, calls :meth:`AddOnMixin.init_add_on` in its constructor and
:meth:`AddOnMixin.add_on_losses` in its loss with its CAM logits, the labels and the RGB input;
its docstring says which tensor that is. Segmentors hand the head the RGB input from
:func:`rgb_inputs`.
"""
from typing import Dict, Iterable, Optional

import torch.nn as nn
from torch import Tensor

from ...losses import FeatureSimilarityLoss, ImportanceSamplingLoss

ISL_KEYS = ('lam', 'num_samples', 'posterior', 'loss_name')
FSL_KEYS = ('weight', 'mu', 'sigma', 'gating', 'subtract_min', 'with_background', 'mask_absent',
            'learnable', 'upsample_factor', 'loss_name')
ADD_ON_LOSSES = ('ImportanceSamplingLoss', 'FeatureSimilarityLoss')


def rgb_inputs(inputs: Tensor, data_preprocessor: nn.Module) -> Tensor:
    """The network input de-normalised with the data preprocessor's mean / std to RGB (or BGR,
    as fed) in [0, 1]: the image FSL compares colours on (eq. 12)."""
    if getattr(data_preprocessor, '_enable_normalize', False):
        inputs = inputs * data_preprocessor.std + data_preprocessor.mean
    return (inputs / 255.0).clamp(0.0, 1.0)


def _check_keys(given: dict, allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise KeyError(f'{where}: unknown key(s) {unknown}; allowed: {list(allowed)}')


class AddOn(nn.Module):
    """The two losses of the add-on, built from the ``add_on`` dict of a head.

    Args:
        isl (dict, optional): ``lam`` (default 0.2, the binomial optimum of Sec. 5.5),
            ``num_samples`` (10), ``posterior`` (``'binomial'``), ``loss_name``
            (``'loss_isl'``). None: no ISL (eq. 16 with lambda = 0).
        fsl (dict, optional): ``weight`` (1.0) and the arguments of
            :class:`FeatureSimilarityLoss`. None: no FSL.
    """

    def __init__(self, isl: Optional[dict] = None, fsl: Optional[dict] = None) -> None:
        super().__init__()
        self.lam = 0.0
        self.isl = self.fsl = None
        if isl is not None:
            _check_keys(isl, ISL_KEYS, 'add_on.isl')
            isl = dict(isl)
            self.lam = float(isl.pop('lam', 0.2))
            if not 0.0 <= self.lam <= 1.0:
                raise ValueError(f'add_on.isl.lam (eq. 16) must be in [0, 1], got {self.lam}')
            self.isl = ImportanceSamplingLoss(loss_weight=self.lam, **isl)
        if fsl is not None:
            _check_keys(fsl, FSL_KEYS, 'add_on.fsl')
            fsl = dict(fsl)
            self.fsl = FeatureSimilarityLoss(loss_weight=fsl.pop('weight', 1.0), **fsl)

    @property
    def cls_weight(self) -> float:
        """``1 - lambda``, eq. 16's weight on the head's own image-level loss (1 without ISL)."""
        return 1.0 - self.lam

    @property
    def names(self) -> tuple:
        """Log names of the active terms (``loss_isl``, ``loss_fsl``)."""
        return tuple(m.loss_name for m in (self.isl, self.fsl) if m is not None)

    def forward(self, cls_score: Tensor, label: Tensor, image: Optional[Tensor] = None,
                bg_score: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """``{loss_isl: lam * L_isl, loss_fsl: weight * L_fsl}`` (the active ones) of the class
        scores ``cls_score`` (B, C, h, w), multi-hot ``label`` (B, C), RGB ``image`` in [0, 1]
        (FSL) and optional background scores ``bg_score`` (B, 1, h, w) (the multinomial
        posterior and the softmax gating)."""
        losses = {}
        if self.isl is not None:
            losses[self.isl.loss_name] = self.isl(cls_score, label, bg_score=bg_score)
        if self.fsl is not None:
            if image is None:
                raise ValueError('add_on.fsl needs the RGB input: the head got images=None')
            losses[self.fsl.loss_name] = self.fsl(cls_score, label, image=image,
                                                  bg_score=bg_score)
        return losses


class AddOnMixin:
    """Gives a decode head the ``add_on`` config key (see the module docstring).

    In the head: ``self.init_add_on(add_on)`` after ``super().__init__``, and in the loss
    ``losses = self.add_on_losses(losses, cls_keys, cls_score, label, images, bg_score)``, where
    ``losses[k]`` for ``k`` in ``cls_keys`` are the head's image-level classification losses
    (scaled by ``1 - lambda``, eq. 16) and ``cls_score`` the CAM logits the add-on trains.
    """

    add_on: Optional[AddOn]

    @classmethod
    def reject_old_add_on_keys(cls, kwargs: dict) -> None:
        """A clear error for the per-head keys that ``add_on`` replaced (configs, or configs
        dumped into work directories, written before it)."""
        old = sorted(k for k in ('loss_isl', 'loss_fsl') if k in kwargs)
        if old:
            raise TypeError(f'{cls.__name__}: {old} are no longer head keys; the add-on is '
                            "add_on=dict(isl=dict(lam=<loss_isl's loss_weight>, num_samples, "
                            "posterior), fsl=dict(weight=<loss_fsl's loss_weight>, mu, sigma, "
                            'gating, ...)) (docs/en/add_on.md)')

    def init_add_on(self, add_on: Optional[dict]) -> None:
        if add_on is not None and not isinstance(add_on, dict):
            raise TypeError(f'add_on must be a dict(isl=..., fsl=...), got {type(add_on)}')
        add_on = dict(add_on or {})
        _check_keys(add_on, ('isl', 'fsl'), f'{type(self).__name__} add_on')
        self.add_on = AddOn(**add_on) if any(v is not None for v in add_on.values()) else None
        losses = getattr(self, 'loss_decode', None)
        for loss in losses if isinstance(losses, nn.ModuleList) else [losses]:
            if type(loss).__name__ in ADD_ON_LOSSES:
                raise ValueError(f'{type(self).__name__}: {type(loss).__name__} in loss_decode; '
                                 'the add-on is configured by add_on=dict(isl=..., fsl=...), '
                                 'which also scales the classification loss by 1 - lam')

    @property
    def add_on_cls_weight(self) -> float:
        return 1.0 if self.add_on is None else self.add_on.cls_weight

    def add_on_losses(self, losses: Dict[str, Tensor], cls_keys: Iterable[str],
                      cls_score: Tensor, label: Tensor, image: Optional[Tensor] = None,
                      bg_score: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """``losses`` with ``losses[k]``, ``k`` in ``cls_keys``, times ``1 - lambda`` (eq. 16)
        and the add-on terms appended; unchanged without an add-on."""
        if self.add_on is None:
            return losses
        for k in cls_keys:
            losses[k] = self.add_on.cls_weight * losses[k]
        losses.update(self.add_on(cls_score, label, image=image, bg_score=bg_score))
        return losses

    def add_on_zeros(self, ref: Tensor) -> Dict[str, Tensor]:
        """The add-on's terms logged as 0 (iterations where a method switches it off)."""
        return {} if self.add_on is None else {n: ref.new_zeros(()) for n in self.add_on.names}
