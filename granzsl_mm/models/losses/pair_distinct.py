"""GranZSL's pair-based distinctiveness loss between class names.

``sum_{i != j} (1 + c_i . c_j)`` over all ordered pairs of distinct classes
pushes the learned class-name embeddings apart (each term is in ``[0, 2]``
for normalised inputs); the weight lambda is the module's ``loss_weight``.
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

__all__ = ['pair_distinct_loss', 'PairDistinctLoss']


def pair_distinct_loss(name_emb: torch.Tensor) -> torch.Tensor:
    """Unweighted sum over ordered pairs ``i != j`` of ``1 + c_i . c_j``.

    Args:
        name_emb (torch.Tensor): ``[C, D]`` class-name embeddings, already
            L2-normalised.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if name_emb.dim() != 2:
        raise ValueError(f'name_emb must be [C, D], got {tuple(name_emb.shape)}')
    num = name_emb.shape[0]
    sim = name_emb @ name_emb.t()
    # Sum of all entries minus the diagonal, plus 1 per ordered pair.
    off_diag = sim.sum() - sim.diagonal().sum()
    return off_diag + num * (num - 1)


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
