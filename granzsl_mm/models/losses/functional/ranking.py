"""BiAM's pairwise ranking loss (used by MKT and SigRL).

Ranking loss, per image ``b`` with positives ``P_b`` and negatives ``N_b``::

    l_b = sum_{p in P_b, n in N_b} max(0, 1 + s_n - s_p) / (V_b + 1e-8)

where ``V_b`` is the number of pairs whose hinge is positive (a violated
margin), and the loss is the mean of ``l_b`` over all images of the batch (an
image without a violated pair, or without positives or negatives, adds 0 and
still counts in the mean, as in the reference). Targets are in our
convention only, 1 positive, 0 negative, -1 unknown (ignored); the BiAM/MKT
code writes negatives as -1 and unknowns as 0: convert such labels with
``granzsl_mm.utils.label_matrix.signed_to_ours``. Values outside {1, 0, -1}
and non-finite scores are refused; signed labels are not detected here: a
training batch of positives and unknowns only (no pair, loss 0) is legal in
our convention and must not stop a run, and a signed batch with an unknown
(0) reads as valid ours anyway. The metrics refuse signed label matrices.
"""
import torch
import torch.nn.functional as F

from granzsl_mm.utils.label_matrix import check_scores_and_labels

__all__ = ['ranking_loss']

_EPS = 1e-8


def ranking_loss(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """BiAM pairwise ranking loss (mean over images).

    Args:
        scores (torch.Tensor): ``[B, C]`` finite scores.
        targets (torch.Tensor): ``[B, C]`` in our convention: 1 positive, 0
            negative, -1 unknown (ignored).

    Returns:
        torch.Tensor: Scalar loss.

    Raises:
        ValueError: The checks of :func:`~granzsl_mm.utils.label_matrix.
            check_scores_and_labels` (shapes, finite scores, labels 1 / 0 /
            -1).
    """
    check_scores_and_labels(scores, targets, signed_check=False)
    positive = (targets == 1).to(scores.dtype)
    negative = (targets == 0).to(scores.dtype)
    # margin[b, n, p] = 1 + s_n - s_p on (positive p, negative n) pairs.
    margin = 1 + scores.unsqueeze(2) - scores.unsqueeze(1)
    pair_mask = negative.unsqueeze(2) * positive.unsqueeze(1)
    hinge = F.relu(margin) * pair_mask
    violated = (hinge > 0).to(scores.dtype).sum(dim=(1, 2))
    per_image = hinge.sum(dim=(1, 2)) / (violated + _EPS)
    return per_image.mean()
