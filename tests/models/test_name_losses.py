"""GranZSL losses against hand-computed values."""
import pytest
import torch
import torch.nn.functional as F

from granzsl_mm.models.losses import (
    NameAlignmentLoss,
    PairDistinctLoss,
    name_alignment_loss,
    pair_distinct_loss,
)


def test_alignment_hand_case():
    names = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sents = torch.tensor([[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]])
    # 0.4^2 + 0.8^2 = 0.8; 0; 1 + 1 = 2
    loss = name_alignment_loss(names, sents, torch.tensor([0, 1, 1]))
    assert loss.item() == pytest.approx(2.8)
    mod = NameAlignmentLoss(loss_weight=0.5)
    assert mod(names, sents, torch.tensor([0, 1, 1])).item() == pytest.approx(1.4)


def test_alignment_matches_mse_sum():
    g = torch.Generator().manual_seed(0)
    names = F.normalize(torch.randn(5, 7, generator=g), dim=-1)
    sents = F.normalize(torch.randn(9, 7, generator=g), dim=-1)
    y = torch.randint(0, 5, (9,), generator=g)
    ref = F.mse_loss(names[y], sents, reduction='sum')
    torch.testing.assert_close(name_alignment_loss(names, sents, y), ref)


def test_alignment_bad_input():
    names = torch.eye(3)
    with pytest.raises(ValueError, match='targets'):
        name_alignment_loss(names, torch.eye(3), torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match='widths'):
        name_alignment_loss(names, torch.ones(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='targets for'):
        name_alignment_loss(names, torch.eye(3), torch.tensor([0, 1]))


def test_pair_hand_case():
    names = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # ordered pairs: (0,1)=1, (0,2)=0, (1,2)=1, each twice
    assert pair_distinct_loss(names).item() == pytest.approx(4.0)
    assert PairDistinctLoss(loss_weight=0.2)(names).item() == pytest.approx(0.8)


def test_pair_matches_loop():
    g = torch.Generator().manual_seed(1)
    names = F.normalize(torch.randn(6, 4, generator=g), dim=-1)
    ref = sum(1 + names[i] @ names[j] for i in range(6) for j in range(6)
              if i != j)
    torch.testing.assert_close(pair_distinct_loss(names), ref)
    with pytest.raises(ValueError):
        pair_distinct_loss(torch.ones(3))


def test_pair_gradient_flows():
    names = F.normalize(torch.randn(4, 3), dim=-1).requires_grad_()
    pair_distinct_loss(names).backward()
    assert names.grad is not None and names.grad.abs().sum() > 0
