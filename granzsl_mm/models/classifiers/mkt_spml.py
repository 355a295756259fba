"""MKT's single-positive (SPML) mode: targets and the logit scale.

SPML mode (``spml_loss`` set; SigRL's SPML branch): every class is "seen"
(``num_seen_classes == num_classes``), ``gt_score`` holds 1 / 0 / -1
(observed positive / known negative / unknown) and the samples may carry
``soft_targets`` (pseudo-labels, NaN where none), which are passed to the
loss. The loss (e.g. ``SPMLLoss``) receives the logits ``s * score`` with
``s`` the score scale; it applies the sigmoid. Test-time ``pred_score`` is
``sigmoid(s * score)`` over all classes (no ``pred_score_zsl`` without unseen
classes). The reference's SPML code feeds ``sigmoid(score)`` straight to the
loss (``s = 1``, fixed), which keeps the probabilities near 0.5 (each score
lies in [-1, 1], its row L2-normalised); ``score_scale`` /
``learnable_score_scale`` make ``s`` configurable (learnable as
``exp(log s)``, CLIP-style). The ranking loss is off in this mode unless
``rank_loss`` is given.

The target readers serve the ranking loss of the ZSL mode as well: both
train on the seen columns of the per-sample vectors.
"""
import math
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

__all__ = ['seen_columns', 'stack_gt_scores', 'stack_soft_targets',
           'log_score_scale']


def seen_columns(matrix: torch.Tensor, num_seen: int, num_classes: int,
                 field: str) -> torch.Tensor:
    """The seen-class columns of a ``[B, C]`` or ``[B, num_seen]`` matrix.

    Args:
        matrix (torch.Tensor): Per-sample vectors over all classes (seen
            then unseen) or over the seen classes only.
        num_seen (int): Number of seen classes.
        num_classes (int): Number of classes.
        field (str): Name of the field (for the error message).

    Returns:
        torch.Tensor: ``[B, num_seen]``.

    Raises:
        ValueError: The width is neither ``num_classes`` nor ``num_seen``.
    """
    width = matrix.shape[1]
    if width == num_classes:
        return matrix[:, :num_seen]
    if width != num_seen:
        raise ValueError(f'{field} has {width} classes; expected the '
                         f'{num_seen} seen classes (or all {num_classes})')
    return matrix


def stack_gt_scores(data_samples: List[DataSample],
                    device: Union[str, torch.device]) -> torch.Tensor:
    """``[B, C]`` ``gt_score`` rows of the samples (1 / 0 / -1)."""
    return torch.stack([torch.as_tensor(s.gt_score).reshape(-1)
                        for s in data_samples]).to(device)


def stack_soft_targets(data_samples: List[DataSample],
                       device: Union[str, torch.device]
                       ) -> Optional[torch.Tensor]:
    """``[B, C]`` float ``soft_targets`` (NaN where none; a sample without the
    field is all NaN), or None when no sample has any."""
    rows = [s.get('soft_targets') for s in data_samples]
    if all(r is None for r in rows):
        return None
    width = next(torch.as_tensor(r).numel() for r in rows if r is not None)
    return torch.stack([
        torch.full((width, ), float('nan')) if r is None else
        torch.as_tensor(r, dtype=torch.float32).reshape(-1)
        for r in rows]).to(device)


def log_score_scale(score_scale: float, learnable: bool
                    ) -> Union[nn.Parameter, torch.Tensor]:
    """``log s`` of the SPML logits: a parameter when learnable, else a
    tensor to register as a buffer.

    Args:
        score_scale (float): Initial ``s`` (> 0).
        learnable (bool): Learn ``log s``.

    Returns:
        nn.Parameter | torch.Tensor: ``log s``.
    """
    if not score_scale > 0:
        raise ValueError(f'score_scale must be > 0, got {score_scale}')
    value = torch.tensor(math.log(score_scale))
    return nn.Parameter(value) if learnable else value
