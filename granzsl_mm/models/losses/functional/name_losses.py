"""GranZSL's two text-side losses.

* Class-name alignment (summed squared error): each training item is a class
  ``y`` and one description sentence of it; the learned class-name embedding
  ``c_y`` is pulled onto the sentence embedding ``t``:
  ``sum_b ||c_{y_b} - t_b||^2`` (MSE with sum reduction, as in the paper).
* Pair-based distinctiveness: ``sum_{i != j} (1 + c_i . c_j)`` over all
  ordered pairs of distinct classes pushes the learned class-name embeddings
  apart (each term is in ``[0, 2]`` for normalised inputs).
"""
import torch

__all__ = ['name_alignment_loss', 'pair_distinct_loss']


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
