"""Knowledge-constrained optimal transport (KCOT) of image regions to labels.

Recover-and-Match ("Open-Vocabulary Multi-Label Recognition through
Knowledge-Constrained Optimal Transport", CVPR 2025) matches the regions
(patch tokens) of an image to the labels of a label set with an entropic
optimal-transport plan, and weights each region-label similarity by it.
The pieces here are the reference's ``model/ot_solver.py::Sinkhorn`` and the
plan-building steps of ``model/model.py::RAM_Model.forward`` /
``generate_teacher_distribution``, as batched functions on tensors (torch
only: no mmengine, open_clip or mmpretrain; they run on any device):

* :func:`sinkhorn` -- batched Sinkhorn-Knopp iterations, the reference's
  update order and stopping rule (checked against POT's ``ot.sinkhorn`` at
  convergence in the tests);
* :func:`region_marginals` -- the source marginal: a softmax over the regions
  of each region's best label similarity;
* :func:`region_label_cost` -- ``1 - softmax_labels(scale * sim)``;
* :func:`teacher_region_distribution` -- the frozen CLIP's distribution of
  each label over the regions (the "knowledge");
* :func:`knowledge_cost` -- its constraint on the cost during training;
* :func:`kcot_plan` -- all of the above: the transport plan of a batch.
"""
from typing import Optional

import torch
from torch import Tensor

__all__ = [
    'sinkhorn', 'region_marginals', 'region_label_cost',
    'teacher_region_distribution', 'knowledge_cost', 'kcot_plan',
    'matched_logits'
]


def sinkhorn(a: Tensor, b: Tensor, cost: Tensor, reg: float,
             max_iter: int = 100, thresh: float = 1e-3) -> Tensor:
    """Batched entropic optimal transport (Sinkhorn-Knopp).

    The reference's iteration: ``K = exp(-cost / reg)``, ``r = a / (K c)``,
    ``c = b / (Kᵀ r)`` from ``r = c = 1``; it stops after the iteration in
    which the mean absolute change of ``r`` falls below ``thresh`` for every
    item of the batch, or after ``max_iter`` iterations. No gradient is
    needed (the reference runs it under ``no_grad``), but none is blocked.

    Args:
        a: ``[B, N]`` source marginals (each row sums to 1).
        b: ``[B, M]`` target marginals (each row sums to 1).
        cost: ``[B, N, M]`` cost matrices.
        reg: Entropic regularisation (> 0).
        max_iter: Most iterations.
        thresh: Stopping threshold on ``mean |r - r_prev|``.

    Returns:
        Tensor: ``[B, N, M]`` transport plans ``diag(r) K diag(c)``.

    Raises:
        ValueError: Shapes that do not fit, or ``reg <= 0``.
    """
    if cost.dim() != 3 or a.shape != cost.shape[:2] or \
            b.shape != (cost.shape[0], cost.shape[2]):
        raise ValueError(f'sinkhorn: a {tuple(a.shape)}, b {tuple(b.shape)} '
                         f'and cost {tuple(cost.shape)} do not fit [B, N], '
                         '[B, M], [B, N, M]')
    if not reg > 0:
        raise ValueError(f'sinkhorn: reg must be > 0, got {reg}')
    kernel = torch.exp(-cost / reg)
    # one contiguous copy of Kᵀ (matrix-vector products on a strided view
    # are slow on CPU; the reference copies it in every iteration)
    kernel_t = kernel.transpose(1, 2).contiguous()
    r = torch.ones_like(a)
    c = torch.ones_like(b)
    for _ in range(max_iter):
        r_prev = r
        r = a / torch.bmm(kernel, c.unsqueeze(-1)).squeeze(-1)
        c = b / torch.bmm(kernel_t, r.unsqueeze(-1)).squeeze(-1)
        if bool(((r - r_prev).abs().mean(dim=1) < thresh).all()):
            break
    return torch.bmm(r.unsqueeze(-1), c.unsqueeze(-2)) * kernel


def region_marginals(sim: Tensor, temperature: float = 0.1) -> Tensor:
    """Source marginal: ``softmax_regions(max_labels(sim) / temperature)``.

    Args:
        sim: ``[B, N, M]`` cosine similarities of regions and labels.
        temperature: Softmax temperature (the reference's 0.1).

    Returns:
        Tensor: ``[B, N]`` (no gradient).
    """
    with torch.no_grad():
        return (sim.max(dim=2).values / temperature).softmax(dim=-1)


def region_label_cost(sim: Tensor, logit_scale: float) -> Tensor:
    """Transport cost ``1 - softmax_labels(logit_scale * sim)``.

    Args:
        sim: ``[B, N, M]`` cosine similarities.
        logit_scale: CLIP's (exponentiated) logit scale.

    Returns:
        Tensor: ``[B, N, M]``.
    """
    return 1.0 - (sim * logit_scale).softmax(dim=-1)


def teacher_region_distribution(dense: Tensor, labels: Tensor,
                                logit_scale: float,
                                sharpness: float = 20.0) -> Tensor:
    """The frozen CLIP's distribution of each label over the regions.

    ``softmax_regions(sharpness * softmax_labels(logit_scale * cos))``: the
    knowledge of the frozen model about where each label is.

    Args:
        dense: ``[B, N, D]`` region features of the frozen model.
        labels: ``[M, D]`` label embeddings of the frozen text tower.
        logit_scale: The frozen model's (exponentiated) logit scale.
        sharpness: Scale inside the region softmax (the reference's 20).

    Returns:
        Tensor: ``[B, N, M]``, each label's column sums to 1 over regions.
    """
    dense = torch.nn.functional.normalize(dense, dim=-1)
    labels = torch.nn.functional.normalize(labels, dim=-1)
    logits = logit_scale * dense @ labels.t()
    return (logits.softmax(dim=2) * sharpness).softmax(dim=1)


def knowledge_cost(teacher: Tensor, targets: Tensor,
                   reg_knowledge: float) -> Tensor:
    """Training-time cost term ``-reg_knowledge * log(teacher')``.

    ``teacher'`` is the teacher distribution with every negative label
    (target 0) set to the smallest value of the whole batch, as the
    reference does: negatives get the largest cost; positives (1) and
    unknown labels (-1) keep the teacher's distribution.

    Args:
        teacher: ``[B, N, M]`` (:func:`teacher_region_distribution`).
        targets: ``[B, M]`` labels in {1, 0, -1}.
        reg_knowledge: The reference's ``OT_REGSC``.

    Returns:
        Tensor: ``[B, N, M]``.
    """
    negative = (targets == 0).unsqueeze(1).expand_as(teacher)
    constrained = torch.where(negative, teacher.min(), teacher)
    return -torch.log(constrained) * reg_knowledge


def kcot_plan(sim: Tensor, logit_scale: float, reg: float,
              teacher: Optional[Tensor] = None,
              targets: Optional[Tensor] = None,
              reg_knowledge: float = 0.05,
              marginal_temperature: float = 0.1,
              max_iter: int = 100, thresh: float = 1e-3) -> Tensor:
    """The transport plan of regions to labels (no gradient).

    Computed without autocast, in float32 at least. Test time (no teacher):
    cost :func:`region_label_cost`, regularisation
    ``reg``. Training: plus :func:`knowledge_cost`, regularisation
    ``reg + reg_knowledge``. Marginals: :func:`region_marginals` over the
    regions, uniform over the labels.

    Args:
        sim: ``[B, N, M]`` cosine similarities of regions and labels.
        logit_scale: CLIP's logit scale (of the cost).
        reg: The reference's ``OT_REG``.
        teacher: ``[B, N, M]`` teacher distribution (training), or None.
        targets: ``[B, M]`` labels (with ``teacher``).
        reg_knowledge: The reference's ``OT_REGSC``.
        marginal_temperature: Of :func:`region_marginals`.
        max_iter: Sinkhorn iterations at most.
        thresh: Sinkhorn stopping threshold.

    Returns:
        Tensor: ``[B, N, M]``.

    Raises:
        ValueError: ``teacher`` without ``targets``.
        FloatingPointError: The plan holds NaN (the reference raises too).
    """
    # float32 even under autocast: exp(-cost / reg) reaches float16's
    # subnormal range (the reference runs it under autocast)
    autocast_off = torch.autocast(device_type=sim.device.type, enabled=False)
    with torch.no_grad(), autocast_off:
        sim = sim.detach().float() if sim.dtype in (
            torch.float16, torch.bfloat16) else sim.detach()
        if teacher is not None:
            teacher = teacher.to(sim.dtype)
        cost = region_label_cost(sim, logit_scale)
        if teacher is not None:
            if targets is None:
                raise ValueError('kcot_plan: the knowledge constraint needs '
                                 'targets')
            cost = cost + knowledge_cost(teacher, targets, reg_knowledge)
            reg = reg + reg_knowledge
        batch, _, labels = sim.shape
        a = region_marginals(sim, marginal_temperature)
        b = torch.full((batch, labels), 1.0 / labels, dtype=sim.dtype,
                       device=sim.device)
        plan = sinkhorn(a, b, cost, reg, max_iter=max_iter, thresh=thresh)
    if torch.isnan(plan).any():
        raise FloatingPointError('kcot_plan: NaN in the transport plan '
                                 '(reg too small for the cost range?)')
    return plan


def matched_logits(plan: Tensor, sim: Tensor, temperature: Tensor) -> Tensor:
    """Label logits of the matched regions: ``sum_regions(plan * sim) / t``.

    Args:
        plan: ``[B, N, M]`` transport plan (constant).
        sim: ``[B, N, M]`` cosine similarities (gradient flows here).
        temperature: Learnable temperature (a scalar tensor).

    Returns:
        Tensor: ``[B, M]``.
    """
    return (plan * sim).sum(dim=1) / temperature
