"""Single-positive multi-label (SPML) losses: assume-negative, entropy
maximisation, and entropy maximisation with asymmetric pseudo-labels.

Conventions (ours only, see ``docs/spml.md``): ``targets`` holds 1 for an
observed positive, 0 for a known negative and -1 for an unknown label
(checked by :func:`granzsl_mm.utils.label_matrix.check_scores_and_labels`,
without the signed check: single-positive labels have no negative);
``probs`` are finite sigmoid outputs. With ``neglog(x) = -log(x + 1e-5)``
each entry costs

* positive: ``neglog(p)``; known negative: ``neglog(1 - p)``;
* unknown, ``'an'`` (assume negative, Cole et al. 2021): ``neglog(1 - p)``;
* unknown, ``'em'`` (entropy maximisation, Zhou et al. 2022):
  ``-alpha * (p * neglog(p) + (1 - p) * neglog(1 - p))``;
* unknown, ``'em_pl'`` (VLPL's EM_PL, Xing et al. 2024): as ``'em'``, except
  where a soft target ``s`` exists (a CLIP pseudo-label):
  ``beta * (s * neglog(p) + (1 - s) * neglog(1 - p))``;
* unknown, ``'apl'`` (EM + APL, Zhou et al. 2022): as ``'em_pl'`` with the
  soft negative labels of the asymmetric pseudo-labelling store, except that
  a soft target of exactly 0 (their ``-0.0``) falls back to the ``'em'``
  term, as in their code.

The loss is the sum over all entries divided by ``N * C`` (as the reference
code of Cole et al. normalises every SPML loss).
"""
from typing import Optional

import torch

from granzsl_mm.utils.label_matrix import check_scores_and_labels

__all__ = [
    'SPML_MODES', 'check_spml_mode', 'LOG_EPS',
    'neglog', 'spml_loss_matrix', 'spml_loss'
]

SPML_MODES = ('an', 'em', 'em_pl', 'apl')
LOG_EPS = 1e-5


def neglog(x: torch.Tensor) -> torch.Tensor:
    """``-log(x + 1e-5)`` (the SPML reference's guarded log)."""
    return -torch.log(x + LOG_EPS)


def check_spml_mode(mode: str) -> str:
    """``mode`` itself if it is one of :data:`SPML_MODES`.

    Raises:
        ValueError: Another name, with the list of the modes.
    """
    if mode not in SPML_MODES:
        raise ValueError(f'SPML loss mode must be one of {SPML_MODES}, got '
                         f"{mode!r} (Zhou et al.'s EM + APL is 'apl', VLPL's "
                         "EM_PL is 'em_pl')")
    return mode


def _check(probs: torch.Tensor, targets: torch.Tensor, mode: str,
           soft_targets: Optional[torch.Tensor]) -> None:
    check_spml_mode(mode)
    # single-positive labels have unknowns and no negative: no signed check
    check_scores_and_labels(probs, targets, what='probs', signed_check=False)
    if soft_targets is not None and soft_targets.shape != probs.shape:
        raise ValueError(f'soft_targets {tuple(soft_targets.shape)} and probs '
                         f'{tuple(probs.shape)} differ in shape')
    with torch.no_grad():
        if bool(((probs < 0) | (probs > 1)).any()):
            raise ValueError('probs must be probabilities in [0, 1] (apply a '
                             'sigmoid to logits first)')


def spml_loss_matrix(probs: torch.Tensor,
                     targets: torch.Tensor,
                     mode: str,
                     alpha: float = 0.1,
                     beta: float = 1.0,
                     soft_targets: Optional[torch.Tensor] = None
                     ) -> torch.Tensor:
    """Per-entry SPML loss (before the ``N * C`` normalisation).

    Args:
        probs (torch.Tensor): ``[N, C]`` sigmoid outputs.
        targets (torch.Tensor): ``[N, C]`` in {1, 0, -1}.
        mode (str): ``'an'``, ``'em'``, ``'em_pl'`` or ``'apl'``.
        alpha (float): Weight of the entropy term on unknowns (em modes).
        beta (float): Weight of the pseudo-label term (``'em_pl'`` / ``'apl'``).
        soft_targets (torch.Tensor, optional): ``[N, C]`` soft targets in
            [0, 1], NaN where an unknown has none; used by ``'em_pl'`` and
            ``'apl'`` only.

    Returns:
        torch.Tensor: ``[N, C]`` loss of each entry.
    """
    _check(probs, targets, mode, soft_targets)
    pos_cost, neg_cost = neglog(probs), neglog(1 - probs)
    unknown = targets == -1
    if mode == 'an':
        unknown_cost = neg_cost
    else:
        unknown_cost = -alpha * (probs * pos_cost + (1 - probs) * neg_cost)
        if mode in ('em_pl', 'apl') and soft_targets is not None:
            soft = soft_targets.to(probs.dtype)
            has_soft = ~torch.isnan(soft)
            if mode == 'apl':  # Zhou et al.: a soft label 0 is unlabelled
                has_soft = has_soft & (soft != 0)
            soft = torch.where(has_soft, soft, torch.zeros_like(soft))
            pseudo_cost = beta * (soft * pos_cost + (1 - soft) * neg_cost)
            unknown_cost = torch.where(has_soft, pseudo_cost, unknown_cost)
    known_cost = torch.where(targets == 1, pos_cost, neg_cost)
    return torch.where(unknown, unknown_cost, known_cost)


def spml_loss(probs: torch.Tensor,
              targets: torch.Tensor,
              mode: str,
              alpha: float = 0.1,
              beta: float = 1.0,
              soft_targets: Optional[torch.Tensor] = None) -> torch.Tensor:
    """SPML loss: the sum of :func:`spml_loss_matrix` over entries / (N * C).

    Args:
        probs (torch.Tensor): ``[N, C]`` sigmoid outputs.
        targets (torch.Tensor): ``[N, C]``: 1 observed positive, 0 known
            negative, -1 unknown.
        mode (str): ``'an'`` (unknowns assumed negative), ``'em'`` (entropy
            maximisation on unknowns) or ``'em_pl'`` / ``'apl'`` (``'em'`` plus
            asymmetric pseudo-labels from ``soft_targets``).
        alpha (float): Entropy weight (0.1 on COCO, 0.2 on VOC in the
            reference).
        beta (float): Pseudo-label weight (``'em_pl'`` / ``'apl'``).
        soft_targets (torch.Tensor, optional): ``[N, C]`` float, NaN where an
            unknown has no pseudo-label.

    Returns:
        torch.Tensor: Scalar loss.
    """
    matrix = spml_loss_matrix(probs, targets, mode, alpha=alpha, beta=beta,
                              soft_targets=soft_targets)
    return matrix.sum() / matrix.numel()
