"""BiAM's pairwise ranking loss (used by MKT and SigRL).

Ranking loss, per image ``b`` with positives ``P_b`` and negatives ``N_b``::

    l_b = sum_{p in P_b, n in N_b} max(0, 1 + s_n - s_p) / (V_b + 1e-8)

where ``V_b`` is the number of pairs whose hinge is positive (a violated
margin), and the loss is the mean of ``l_b`` over all images of the batch (an
image without a violated pair, or without positives or negatives, adds 0 and
still counts in the mean, as in the reference). Targets follow the project's
convention, 1 positive, 0 negative, -1 unknown (ignored); the BiAM/MKT code
writes negatives as -1 and unknowns as 0 — only the encoding differs.
"""
import torch
import torch.nn.functional as F

__all__ = ['ranking_loss']

_EPS = 1e-8


def ranking_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BiAM pairwise ranking loss (mean over images).

    Args:
        scores (torch.Tensor): ``[B, C]`` scores.
        targets (torch.Tensor): ``[B, C]`` in {1, 0, -1}: positive, negative,
            unknown (ignored).

    Returns:
        torch.Tensor: Scalar loss.
    """
    if scores.dim() != 2 or scores.shape != targets.shape:
        raise ValueError('scores and targets must both be [B, C], got '
                         f'{tuple(scores.shape)} and {tuple(targets.shape)}')
    valid = (targets == 1) | (targets == 0) | (targets == -1)
    if not bool(valid.all()):
        raise ValueError('targets must take values in {1, 0, -1}')
    positive = (targets == 1).to(scores.dtype)
    negative = (targets == 0).to(scores.dtype)
    # margin[b, n, p] = 1 + s_n - s_p on (positive p, negative n) pairs.
    margin = 1 + scores.unsqueeze(2) - scores.unsqueeze(1)
    pair_mask = negative.unsqueeze(2) * positive.unsqueeze(1)
    hinge = F.relu(margin) * pair_mask
    violated = (hinge > 0).to(scores.dtype).sum(dim=(1, 2))
    per_image = hinge.sum(dim=(1, 2)) / (violated + _EPS)
    return per_image.mean()
