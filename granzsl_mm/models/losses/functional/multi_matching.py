"""Recover-and-Match's multi-matching contrastive (MMC) loss (torch only).

The reference's ``loss/mmc_loss.py::mmc_loss``: one softmax over every
image-label logit of the batch (the batch is flattened), and the mean
negative log-probability of the positive pairs. SupCon carried to images and
labels.
"""
from typing import Optional

import torch
from torch import Tensor

__all__ = ['multi_matching_loss']


def multi_matching_loss(logits: Tensor, targets: Tensor,
                        logits_mask: Optional[Tensor] = None) -> Tensor:
    """MMC loss of a batch.

    Args:
        logits: ``[B, C]`` (or any shape; flattened) image-label logits.
        targets: Same number of elements: 1 positive, 0 negative, -1
            unknown. Unknown pairs are left out of the softmax (the
            reference has none; its ``logits_mask``).
        logits_mask: Optional extra mask (1 keep, 0 drop), ANDed with the
            known pairs.

    Returns:
        Tensor: Scalar loss; 0-positive batches divide by 1, as the reference.
    """
    logits = logits.reshape(-1)
    targets = targets.reshape(-1).to(logits.dtype)
    if targets.numel() != logits.numel():
        raise ValueError(f'multi_matching_loss: {logits.numel()} logits and '
                         f'{targets.numel()} targets')
    keep = None
    if (targets == -1).any():
        keep = (targets != -1).to(logits.dtype)
    if logits_mask is not None:
        extra = logits_mask.reshape(-1).to(logits.dtype)
        keep = extra if keep is None else keep * extra
    logits = logits - logits.max().detach()  # numerical stability
    exp_logits = torch.exp(logits)
    if keep is not None:
        exp_logits = exp_logits * keep
    log_prob = logits - torch.log(exp_logits.sum())
    positive = (targets == 1).to(logits.dtype)
    num_pos = positive.sum()
    num_pos = torch.where(num_pos < 1e-6, torch.ones_like(num_pos), num_pos)
    return -(positive * log_prob).sum() / num_pos
