"""Multi-label BCE that ignores unknown labels (-1), for stock MMPretrain heads.

MMPretrain's ``MultiLabelClsHead`` feeds the sample's ``gt_score`` to its
loss as it is; with our datasets an unknown label is -1, which
``CrossEntropyLoss(use_sigmoid=True)`` would train on as a target. Give the
head this loss instead: entries whose target is negative (-1, unknown) or NaN
contribute nothing (no value, no gradient); targets in [0, 1] (hard or soft)
are used as BCE targets. Given ``soft_targets`` (as
:class:`~granzsl_mm.models.heads.SPMLLinearClsHead` passes them), an unknown
entry with a soft target (not NaN) is trained towards it instead.
"""
from typing import Optional

import torch
import torch.nn.functional as F

__all__ = ['BCE_REDUCTIONS', 'masked_bce_loss']

BCE_REDUCTIONS = ('mean', 'sum', 'mean_all')


def masked_bce_loss(logits: torch.Tensor,
                    targets: torch.Tensor,
                    reduction: str = 'mean',
                    soft_targets: Optional[torch.Tensor] = None
                    ) -> torch.Tensor:
    """BCE-with-logits over the known entries of a ``{1, 0, -1}`` target.

    Args:
        logits (torch.Tensor): ``[N, C]`` logits.
        targets (torch.Tensor): ``[N, C]``; values in [0, 1] are targets,
            -1 (any negative value) or NaN means unknown (ignored).
        reduction (str): ``'mean'`` over the known entries (0 when none),
            ``'sum'``, or ``'mean_all'`` (sum / ``N * C``, the SPML
            reference's normalisation).
        soft_targets (torch.Tensor, optional): ``[N, C]`` targets in [0, 1]
            for unknown entries, NaN where none.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if reduction not in BCE_REDUCTIONS:
        raise ValueError(f'reduction must be one of {BCE_REDUCTIONS}, got '
                         f'{reduction!r}')
    if logits.shape != targets.shape:
        raise ValueError(f'logits {tuple(logits.shape)} and targets '
                         f'{tuple(targets.shape)} differ in shape')
    targets = targets.to(logits.dtype)
    if soft_targets is not None:
        if soft_targets.shape != targets.shape:
            raise ValueError(f'soft_targets {tuple(soft_targets.shape)} and '
                             f'targets {tuple(targets.shape)} differ')
        soft = soft_targets.to(logits.dtype)
        use_soft = ((targets < 0) | torch.isnan(targets)) & ~torch.isnan(soft)
        targets = torch.where(use_soft, soft, targets)
    known = (targets >= 0) & ~torch.isnan(targets)
    if bool((targets[known] > 1).any()):
        raise ValueError('known targets must lie in [0, 1]')
    safe = torch.where(known, targets, torch.zeros_like(targets))
    per_entry = F.binary_cross_entropy_with_logits(
        logits, safe, reduction='none')
    per_entry = torch.where(known, per_entry, torch.zeros_like(per_entry))
    total = per_entry.sum()
    if reduction == 'sum':
        return total
    if reduction == 'mean_all':
        return total / per_entry.numel()
    return total / known.sum().clamp(min=1)
