"""Registered module of the single-positive multi-label (SPML) losses.

The losses themselves (assume-negative, entropy maximisation and entropy
maximisation with asymmetric pseudo-labels) are in
:mod:`granzsl_mm.models.losses.functional.spml`.
"""
from typing import Optional

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.spml import (
    LOG_EPS,
    SPML_MODES,
    check_spml_mode,
    neglog,
    spml_loss,
    spml_loss_matrix,
)

__all__ = ['SPML_MODES', 'LOG_EPS', 'neglog', 'spml_loss_matrix', 'spml_loss',
           'SPMLLoss']


@MODELS.register_module()
class SPMLLoss(nn.Module):
    """Module wrapper of :func:`spml_loss` that also fits MMPretrain heads.

    A stock MMPretrain multi-label head calls
    ``loss_module(cls_score, target, avg_factor=N)`` with logits and the
    sample's ``gt_score`` (-1 = unknown); with ``use_sigmoid=True`` (default)
    this module turns the logits into probabilities, so it can be given to
    such a head as its ``loss`` directly (without soft targets; use
    :class:`~granzsl_mm.models.heads.SPMLLinearClsHead` to carry them).

    Args:
        mode (str): ``'an'``, ``'em'``, ``'em_pl'`` or ``'apl'``.
        alpha (float): Entropy weight on unknowns.
        beta (float): Pseudo-label weight.
        use_sigmoid (bool): Inputs are logits (apply a sigmoid); if False they
            must already be probabilities.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self,
                 mode: str = 'an',
                 alpha: float = 0.1,
                 beta: float = 1.0,
                 use_sigmoid: bool = True,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.mode = check_spml_mode(mode)
        self.alpha = alpha
        self.beta = beta
        self.use_sigmoid = use_sigmoid
        self.loss_weight = loss_weight

    def forward(self,
                cls_score: torch.Tensor,
                target: torch.Tensor,
                soft_targets: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                **kwargs) -> torch.Tensor:
        """Weighted SPML loss.

        Args:
            cls_score (torch.Tensor): ``[N, C]`` logits (or probabilities when
                ``use_sigmoid=False``).
            target (torch.Tensor): ``[N, C]`` in {1, 0, -1}.
            soft_targets (torch.Tensor, optional): ``[N, C]``, NaN = none.
            avg_factor (float, optional): Number of images the sum is divided
                by (times ``C``); MMPretrain heads pass ``N``, which gives
                exactly :func:`spml_loss`.
            **kwargs: Ignored (MMPretrain passes e.g. ``weight=None``).

        Returns:
            torch.Tensor: Scalar loss.
        """
        probs = cls_score.sigmoid() if self.use_sigmoid else cls_score
        matrix = spml_loss_matrix(probs, target.to(probs.dtype), self.mode,
                                  alpha=self.alpha, beta=self.beta,
                                  soft_targets=soft_targets)
        num = matrix.shape[0] if avg_factor is None else avg_factor
        return self.loss_weight * matrix.sum() / (num * matrix.shape[1])
