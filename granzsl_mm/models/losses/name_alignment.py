"""GranZSL's class-name alignment loss (summed squared error).

Each training item is a class ``y`` and one description sentence of it; the
learned class-name embedding ``c_y`` is pulled onto the sentence embedding
``t``: ``sum_b ||c_{y_b} - t_b||^2`` (MSE with sum reduction, as in the paper).
"""
import torch
import torch.nn as nn

from granzsl_mm.registry import MODELS

__all__ = ['name_alignment_loss', 'NameAlignmentLoss']


def name_alignment_loss(name_emb: torch.Tensor, sent_emb: torch.Tensor,
                        targets: torch.Tensor) -> torch.Tensor:
    """Summed squared distance between each sentence and its class's name.

    Args:
        name_emb (torch.Tensor): ``[C, D]`` class-name embeddings, already
            L2-normalised.
        sent_emb (torch.Tensor): ``[B, D]`` sentence embeddings, already
            L2-normalised.
        targets (torch.Tensor): ``[B]`` class index of each sentence.

    Returns:
        torch.Tensor: Scalar ``sum_b ||name_emb[targets[b]] - sent_emb[b]||^2``.
    """
    if name_emb.dim() != 2 or sent_emb.dim() != 2:
        raise ValueError('name_emb and sent_emb must be 2-D, got '
                         f'{tuple(name_emb.shape)} and {tuple(sent_emb.shape)}')
    if name_emb.shape[1] != sent_emb.shape[1]:
        raise ValueError(f'embedding widths differ: {name_emb.shape[1]} vs '
                         f'{sent_emb.shape[1]}')
    targets = targets.reshape(-1).long()
    if targets.numel() != sent_emb.shape[0]:
        raise ValueError(f'{targets.numel()} targets for '
                         f'{sent_emb.shape[0]} sentences')
    if targets.numel() and (targets.min() < 0
                            or targets.max() >= name_emb.shape[0]):
        raise ValueError('targets must lie in [0, num_classes)')
    diff = name_emb[targets] - sent_emb.to(name_emb.dtype)
    return diff.pow(2).sum()


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
