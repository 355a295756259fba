"""Registered modules of BiAM's ranking loss (MKT, SigRL) and MKT's L1
distillation loss.

The ranking loss itself is :func:`~granzsl_mm.models.losses.functional.ranking_loss`.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from granzsl_mm.registry import MODELS

from .functional.ranking import ranking_loss

__all__ = ['ranking_loss', 'RankingLoss', 'L1DistillLoss']


@MODELS.register_module()
class RankingLoss(nn.Module):
    """Module wrapper of :func:`ranking_loss`.

    Args:
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, scores: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Weighted loss; see :func:`ranking_loss`."""
        return self.loss_weight * ranking_loss(scores, targets)


@MODELS.register_module()
class L1DistillLoss(nn.Module):
    """Mean absolute error between student and (detached) teacher features.

    MKT / SigRL distil the frozen CLIP image embedding into the fine-tuned
    CLS embedding with ``F.l1_loss`` (mean over all elements), weight 1 in
    both reference codes (``loss = dist_loss + rank_loss``).

    Args:
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: Optional[torch.Tensor]) -> torch.Tensor:
        """Weighted L1 distance (the teacher gets no gradient)."""
        if teacher is None or student.shape != teacher.shape:
            raise ValueError('student and teacher features must have the same '
                             'shape')
        return self.loss_weight * F.l1_loss(student, teacher.detach().to(
            student.dtype))
