"""Registered module of the masked multi-label BCE (unknown labels ignored).

Give stock MMPretrain heads this loss instead of
``CrossEntropyLoss(use_sigmoid=True)``, which would train on -1 as a target;
the loss itself is :func:`~granzsl_mm.models.losses.functional.masked_bce_loss`.
"""
from typing import Optional

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.masked_bce import BCE_REDUCTIONS as _REDUCTIONS
from .functional.masked_bce import masked_bce_loss

__all__ = ['masked_bce_loss', 'MaskedBCELoss']


@MODELS.register_module()
class MaskedBCELoss(nn.Module):
    """Module wrapper of :func:`masked_bce_loss` (MMPretrain loss interface).

    Args:
        reduction (str): See :func:`masked_bce_loss`.
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got '
                             f'{reduction!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self,
                cls_score: torch.Tensor,
                target: torch.Tensor,
                soft_targets: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                **kwargs) -> torch.Tensor:
        """Weighted masked BCE; ``avg_factor`` and other MMPretrain keyword
        arguments are accepted and ignored (the reduction decides)."""
        return self.loss_weight * masked_bce_loss(
            cls_score, target, self.reduction, soft_targets=soft_targets)
