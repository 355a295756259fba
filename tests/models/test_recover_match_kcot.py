"""KCOT's functional core and the multi-matching loss.

* The Sinkhorn solver against POT 0.9.7's ``ot.sinkhorn`` (POT installed
  outside the project, run once on the inputs below with ``numItermax=1e5,
  stopThr=1e-13``; its plans recorded here; measured difference 1.0e-14).
* Against the reference's ``model/ot_solver.py::Sinkhorn`` (``EricTan7/RAM``
  f2073f994eeecb0adb9a8a4cec9d011e5e9aa8a7, quoted below without its
  ``thresh = 1e-3`` overwrite of the argument) on random batches.
* The MMC loss against an independent log-softmax computation.
"""
import torch

from granzsl_mm.models.losses.functional import (
    kcot_plan,
    multi_matching_loss,
    sinkhorn,
)
from granzsl_mm.models.losses.functional.optimal_transport import (
    knowledge_cost,
    region_marginals,
)
from tests.fixtures.recover_match_weights import sin_tensor

POT_REG = 0.15
POT_PLANS = [  # ot.sinkhorn(a[i], b[i], cost[i], 0.15), i = 0, 1
    [[0.190036465390528, 0.09087483009876512, 0.02974168332416446],
     [0.00239885757046622, 0.05834047809800783, 0.2766359765200495],
     [0.06888097953674124, 0.1481910852714162, 0.01468917788589747],
     [0.0720170308355822, 0.03592693986513719, 0.01226649560324457]],
    [[0.01446173656306367, 0.09496996812722222, 0.13391751065484375],
     [0.11349199371210938, 0.06396540378718578, 0.00197706177945063],
     [0.18184144541407965, 0.02622806881702464, 0.00294341063424577],
     [0.02353815764407969, 0.14816989260190083, 0.1944953502647938]],
]


def _pot_inputs():
    cost = sin_tensor((2, 4, 3), 0.3, 0.5, 0.5).double()
    a = torch.softmax(sin_tensor((2, 4), 1.1, 1.0).double(), -1)
    b = torch.full((2, 3), 1 / 3, dtype=torch.float64)
    return a, b, cost


def test_sinkhorn_matches_pot_at_convergence():
    a, b, cost = _pot_inputs()
    plan = sinkhorn(a, b, cost, POT_REG, max_iter=100000, thresh=1e-15)
    assert (plan - torch.tensor(POT_PLANS, dtype=torch.float64)).abs().max(
    ) < 1e-10
    # and the plan has the asked marginals
    assert torch.allclose(plan.sum(2), a, atol=1e-12)
    assert torch.allclose(plan.sum(1), b, atol=1e-12)


def _reference_sinkhorn(a, b, M, reg, max_iter=100, thresh=1e-3):
    K = torch.exp(-M / reg)
    r = torch.ones_like(a)
    c = torch.ones_like(b)
    for _i in range(max_iter):
        r0 = r
        r = a / torch.matmul(K, c.unsqueeze(-1)).squeeze(-1)
        c = b / torch.matmul(K.permute(0, 2, 1).contiguous(),
                             r.unsqueeze(-1)).squeeze(-1)
        err = (r - r0).abs().mean(dim=1)
        if torch.all(err < thresh):
            break
    T = torch.matmul(r.unsqueeze(-1), c.unsqueeze(-2)) * K
    return T


def test_sinkhorn_follows_the_reference_iteration():
    gen = torch.Generator().manual_seed(0)
    for reg, iters in ((0.1, 100), (0.15, 100), (0.05, 7)):
        sim = torch.rand(3, 9, 6, generator=gen) * 2 - 1
        cost = 1 - (sim * 100).softmax(-1)
        a = region_marginals(sim)
        b = torch.full((3, 6), 1 / 6)
        ours = sinkhorn(a, b, cost, reg, max_iter=iters)
        ref = _reference_sinkhorn(a, b, cost, reg, max_iter=iters)
        assert (ours - ref).abs().max() < 1e-6


def test_knowledge_constraint_moves_mass_from_negatives():
    gen = torch.Generator().manual_seed(1)
    sim = torch.rand(2, 9, 4, generator=gen) * 0.4
    teacher = torch.rand(2, 9, 4, generator=gen).softmax(dim=1)
    targets = torch.tensor([[1, 0, 0, 1], [0, 1, -1, 0]])
    free = kcot_plan(sim, 100.0, 0.15)
    known = kcot_plan(sim, 100.0, 0.1, teacher, targets, 0.05)
    neg = targets == 0
    # the constraint is -0.05 * log(min) on every negative entry
    cost = knowledge_cost(teacher, targets, 0.05)
    assert torch.allclose(cost[:, :, 2][0], -0.05 * teacher.min().log()
                          .expand(9))
    # columns keep their uniform mass, but negatives sit on the regions
    # the teacher gives them least: the cost moves none of it between labels
    assert torch.allclose(known.sum(1), free.sum(1), atol=1e-3)
    assert not torch.allclose(known[neg.unsqueeze(1).expand_as(known)],
                              free[neg.unsqueeze(1).expand_as(free)])


def test_multi_matching_loss_is_a_batch_softmax_over_pairs():
    gen = torch.Generator().manual_seed(2)
    logits = torch.randn(4, 5, generator=gen) * 3
    targets = (torch.rand(4, 5, generator=gen) > 0.6).long()
    targets[0, 0] = 1
    log_prob = torch.log_softmax(logits.reshape(-1), 0)
    pos = targets.reshape(-1) == 1
    want = -log_prob[pos].mean()
    assert torch.allclose(multi_matching_loss(logits, targets), want)
    # unknown pairs (-1) leave the softmax
    unknown = targets.clone()
    unknown[1, :] = -1
    keep = unknown.reshape(-1) != -1
    log_prob = torch.log_softmax(logits.reshape(-1)[keep], 0)
    want = -log_prob[unknown.reshape(-1)[keep] == 1].mean()
    assert torch.allclose(multi_matching_loss(logits, unknown), want)
    # no positive: 0, as the reference (its division by max(n, 1))
    assert multi_matching_loss(logits, torch.zeros(4, 5)) == 0
