"""Registered modules of GranZSL's two class-name losses.

The losses themselves are
:func:`~granzsl_mm.models.losses.functional.name_alignment_loss` (a class
name close to its class's description sentences) and
:func:`~granzsl_mm.models.losses.functional.pair_distinct_loss` (names kept
apart; its weight lambda is the module's ``loss_weight``).
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.name_losses import name_alignment_loss, pair_distinct_loss

__all__ = ['name_alignment_loss', 'NameAlignmentLoss', 'pair_distinct_loss',
           'PairDistinctLoss']


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


@MODELS.register_module()
class PairDistinctLoss(nn.Module):
    """Module wrapper of :func:`pair_distinct_loss`.

    Args:
        loss_weight (float): lambda (0.2 on COCO, 1e-4 on NUS-WIDE in the
            paper's configs).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, name_emb: torch.Tensor) -> torch.Tensor:
        """Weighted pair loss; see :func:`pair_distinct_loss`."""
        return self.loss_weight * pair_distinct_loss(name_emb)
