"""Registered module of GranZSL's class-name alignment loss.

The loss itself is :func:`~granzsl_mm.models.losses.functional.name_alignment_loss`.
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.granzsl import name_alignment_loss

__all__ = ['name_alignment_loss', 'NameAlignmentLoss']


@MODELS.register_module()
class NameAlignmentLoss(nn.Module):
    """Module wrapper of :func:`name_alignment_loss`.

    Args:
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, name_emb: torch.Tensor, sent_emb: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Weighted alignment loss; see :func:`name_alignment_loss`."""
        return self.loss_weight * name_alignment_loss(name_emb, sent_emb,
                                                      targets)
