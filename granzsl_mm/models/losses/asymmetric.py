"""Registered module of DualCoOp's asymmetric loss on logit pairs.

The loss itself is
:func:`~granzsl_mm.models.losses.functional.dual_asymmetric_loss`.
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

from .functional.asymmetric import dual_asymmetric_loss

__all__ = ['dual_asymmetric_loss', 'DualAsymmetricLoss']


@MODELS.register_module()
class DualAsymmetricLoss(nn.Module):
    """Module wrapper of :func:`dual_asymmetric_loss`.

    Args:
        gamma_neg (float): Focusing exponent of the negatives (DualCoOp: 2).
        gamma_pos (float): Focusing exponent of the positives (DualCoOp: 1).
        clip (float): Margin added to the negatives' probability.
        eps (float): Floor inside the logarithm.
        loss_weight (float): Multiplier (DualCoOp's ``loss_w``).
    """

    def __init__(self, gamma_neg: float = 2.0, gamma_pos: float = 1.0,
                 clip: float = 0.05, eps: float = 1e-6,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Weighted loss of ``[B, 2, C]`` logits against ``[B, C]`` targets
        (1 / 0 / -1)."""
        return self.loss_weight * dual_asymmetric_loss(
            logits, targets, self.gamma_neg, self.gamma_pos, self.clip,
            self.eps)
