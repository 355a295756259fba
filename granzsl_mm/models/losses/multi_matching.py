"""Registered module of Recover-and-Match's multi-matching (MMC) loss.

The loss itself is
:func:`~granzsl_mm.models.losses.functional.multi_matching_loss`.
"""
from typing import Optional

import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.multi_matching import multi_matching_loss

__all__ = ['multi_matching_loss', 'MultiMatchingLoss']


@MODELS.register_module()
class MultiMatchingLoss(nn.Module):
    """Module wrapper of :func:`multi_matching_loss`.

    Args:
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor,
                logits_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Weighted loss; see :func:`multi_matching_loss`."""
        return self.loss_weight * multi_matching_loss(logits, targets,
                                                      logits_mask)
