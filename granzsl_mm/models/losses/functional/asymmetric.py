"""DualCoOp's asymmetric loss on paired negative / positive logits.

The asymmetric loss of Ridnik et al. (ASL) in the form DualCoOp trains with
(``utils/asymmetric_loss.py: AsymmetricLoss`` in ``sunxm2357/DualCoOp``):
each class has a negative and a positive logit, a softmax over the pair
gives ``p`` (positive) and ``q`` (negative), and per known label ``y``::

    q' = min(q + clip, 1)
    l  = y log max(p, eps) + (1 - y) log max(q', eps)
    w  = (1 - p)^gamma_pos            if y = 1
         (1 - q')^gamma_neg           if y = 0     (no gradient through w)
    loss = -sum(w * l)

summed over the images and classes of the batch (the reference's reduction;
its recipes scale it with ``loss_w``). Unknown labels (-1) are left out, as
the reference does. Targets are in our convention: 1 positive, 0 negative,
-1 unknown.
"""
import torch

from granzsl_mm.utils.label_matrix import check_scores_and_labels

__all__ = ['dual_asymmetric_loss']


def dual_asymmetric_loss(logits: torch.Tensor, targets: torch.Tensor,
                         gamma_neg: float = 2.0, gamma_pos: float = 1.0,
                         clip: float = 0.05, eps: float = 1e-6
                         ) -> torch.Tensor:
    """Asymmetric loss over ``[negative, positive]`` logit pairs.

    Args:
        logits (torch.Tensor): ``[B, 2, C]``, index 0 the negative and 1 the
            positive logit of each class.
        targets (torch.Tensor): ``[B, C]`` in {1, 0, -1} (-1: left out).
        gamma_neg (float): Focusing exponent of the negatives.
        gamma_pos (float): Focusing exponent of the positives.
        clip (float): Probability margin added to the negatives' ``q``
            (0 or None: off).
        eps (float): Floor of the probabilities inside the logarithm.

    Returns:
        torch.Tensor: Scalar, the sum over the known labels.

    Raises:
        ValueError: ``logits`` not ``[B, 2, C]``, or the checks of
            :func:`~granzsl_mm.utils.label_matrix.check_scores_and_labels`.
    """
    if logits.dim() != 3 or logits.shape[1] != 2:
        raise ValueError('logits must be [B, 2, C] (negative, positive), got '
                         f'{tuple(logits.shape)}')
    check_scores_and_labels(logits[:, 1], targets, 'logits',
                            signed_check=False)
    prob = logits.softmax(dim=1)
    known = targets != -1
    y = targets[known].to(prob.dtype)
    xs_pos, xs_neg = prob[:, 1][known], prob[:, 0][known]
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    loss = (y * torch.log(xs_pos.clamp(min=eps))
            + (1 - y) * torch.log(xs_neg.clamp(min=eps)))
    if gamma_neg > 0 or gamma_pos > 0:
        with torch.no_grad():  # the reference's focusing weight has no grad
            pt = xs_pos * y + xs_neg * (1 - y)
            weight = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
        loss = loss * weight
    return -loss.sum()
