"""MKT's scores of one label set (pure torch).

Scores of a label set with embeddings ``L [C, D]``::

    local  = mean of the top-k (k = 16) over patches of (patches @ Lᵀ)
    global = cls @ Lᵀ
    score  = (local / ||local|| + global / ||global||) / 2

with both norms taken across the classes of the scored set.
:func:`topk_patch_scores` is the same top-k local pooling on cosine maps,
scaled by ``s`` (the zero-shot classifier's ``local_pooling='topk'``).
``score / ||score||`` uses ``F.normalize`` (eps 1e-12): equal to the
reference except for an all-zero score row, where the reference divides by
zero.
"""
import torch
import torch.nn.functional as F

__all__ = ['mkt_local_scores', 'normalized_average_scores', 'topk_patch_scores']


def mkt_local_scores(patches: torch.Tensor, labels: torch.Tensor,
                      k: int) -> torch.Tensor:
    """Mean of the top-``k`` patch scores per class.

    Args:
        patches (torch.Tensor): ``[B, P, D]`` patch embeddings.
        labels (torch.Tensor): ``[C, D]`` label embeddings.
        k (int): Patches averaged per class (``k <= P``).

    Returns:
        torch.Tensor: ``[B, C]``.
    """
    if k > patches.shape[1]:
        raise ValueError(f'topk={k} exceeds the {patches.shape[1]} patch '
                         'tokens of the image')
    return (patches @ labels.t()).topk(k, dim=1).values.mean(dim=1)


def normalized_average_scores(local: torch.Tensor,
                              global_: torch.Tensor) -> torch.Tensor:
    """``(local/||local|| + global/||global||) / 2``, norms over classes."""
    return (F.normalize(local, dim=-1) + F.normalize(global_, dim=-1)) / 2


def topk_patch_scores(local: torch.Tensor, k: int,
                      logit_scale: float) -> torch.Tensor:
    """MKT-style local scores: ``s`` times the mean of the top-k cosines.

    Args:
        local: ``[B, C, h, w]`` (or ``[B, C, P]``) cosine maps.
        k: Patches averaged (clipped to the number of positions).
        logit_scale: ``s``.

    Returns:
        torch.Tensor: ``[B, C]``.
    """
    flat = local.flatten(2)
    k = max(1, min(int(k), flat.shape[-1]))
    return logit_scale * flat.topk(k, dim=-1).values.mean(dim=-1)
