"""TaI-DPT's pairwise hinge ranking loss (summed over pairs).

Per sample ``b`` with positives ``P_b`` and negatives ``N_b``::

    l_b = sum_{p in P_b, n in N_b} max(0, margin - scale * s_p + scale * s_n)

and the loss is the mean of ``l_b`` over the batch. This is
``trainers/utils.py: ranking_loss`` of ``guozix/TaI-DPT`` (its
``Caption_distill_double`` trainer calls it with ``scale_=1.0, margin_=1``
on the global and on the local logits). Unlike BiAM's
:func:`~granzsl_mm.models.losses.functional.ranking.ranking_loss`, the hinges
are summed, not divided by the number of violated pairs. Targets are in our
convention (1 positive, 0 negative, -1 unknown: in no pair); the reference
reads every non-positive as a negative.
"""
import torch

from granzsl_mm.utils.label_matrix import check_scores_and_labels

__all__ = ['hinge_ranking_loss']


def hinge_ranking_loss(scores: torch.Tensor, targets: torch.Tensor,
                       margin: float = 1.0,
                       scale: float = 1.0) -> torch.Tensor:
    """Sum of pairwise hinges per sample, mean over samples.

    Args:
        scores (torch.Tensor): ``[B, C]`` finite scores.
        targets (torch.Tensor): ``[B, C]``, 1 / 0 / -1 (unknown, ignored).
        margin (float): The hinge margin (reference ``margin_``).
        scale (float): Multiplier of the scores (reference ``scale_``).

    Returns:
        torch.Tensor: Scalar loss.

    Raises:
        ValueError: The checks of :func:`~granzsl_mm.utils.label_matrix.
            check_scores_and_labels`.
    """
    check_scores_and_labels(scores, targets, signed_check=False)
    scores = scores * scale
    positive = (targets == 1).to(scores.dtype)
    negative = (targets == 0).to(scores.dtype)
    # hinge[b, n, p] = margin - s_p + s_n on (negative n, positive p) pairs
    hinge = (margin - scores.unsqueeze(1) + scores.unsqueeze(2)).clamp_min(0)
    pairs = negative.unsqueeze(2) * positive.unsqueeze(1)
    return (hinge * pairs).sum(dim=(1, 2)).mean()
