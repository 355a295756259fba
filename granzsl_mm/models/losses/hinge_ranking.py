"""Registered module of TaI-DPT's summed pairwise hinge ranking loss.

The loss itself is
:func:`~granzsl_mm.models.losses.functional.hinge_ranking_loss`.
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.hinge_ranking import hinge_ranking_loss

__all__ = ['hinge_ranking_loss', 'HingeRankingLoss']


@MODELS.register_module()
class HingeRankingLoss(nn.Module):
    """Module wrapper of :func:`hinge_ranking_loss`.

    Args:
        margin (float): The hinge margin (TaI-DPT: 1).
        scale (float): Multiplier of the scores (TaI-DPT: 1).
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, margin: float = 1.0, scale: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.loss_weight = loss_weight

    def forward(self, scores: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Weighted loss of ``[B, C]`` scores against ``[B, C]`` targets."""
        return self.loss_weight * hinge_ranking_loss(
            scores, targets, self.margin, self.scale)
