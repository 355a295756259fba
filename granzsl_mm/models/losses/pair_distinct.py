"""Registered module of GranZSL's pair-based distinctiveness loss.

The loss itself is :func:`~granzsl_mm.models.losses.functional.pair_distinct_loss`;
the weight lambda is the module's ``loss_weight``.
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.granzsl import pair_distinct_loss

__all__ = ['pair_distinct_loss', 'PairDistinctLoss']


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
