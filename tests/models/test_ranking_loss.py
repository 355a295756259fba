"""BiAM ranking loss and the L1 distillation loss (MKT / SigRL)."""
import pytest
import torch

from granzsl_mm.models.losses import L1DistillLoss, RankingLoss, ranking_loss


def _reference_loop(scores, targets):
    """Per image: sum of violated hinges over (pos, neg) pairs / count."""
    total = 0.0
    for s, t in zip(scores.tolist(), targets.tolist()):
        hinges = [1 + s[n] - s[p] for p in range(len(s)) if t[p] == 1
                  for n in range(len(s)) if t[n] == 0]
        violated = [h for h in hinges if h > 0]
        total += sum(violated) / (len(violated) + 1e-8)
    return total / len(scores)


def test_hand_computed_values():
    scores = torch.tensor([[0.9, 0.2, 0.5, 0.1],
                           [3.0, 0.5, 1.0, 2.5],
                           [0.3, 0.1, 0.2, 0.4]])
    targets = torch.tensor([[1., 0, 0, -1],
                            [1, 1, 0, 0],
                            [0, 0, -1, 0]])
    # image 0: (0.3 + 0.6) / 2; image 1: (0 + 0.5 + 1.5 + 3.0) / 3;
    # image 2: no positive -> 0 (still counted in the mean)
    expected = (0.45 + 5.0 / 3 + 0.0) / 3
    assert ranking_loss(scores, targets).item() == pytest.approx(expected,
                                                                 rel=1e-6)


def test_no_violation_gives_zero():
    scores = torch.tensor([[5.0, 0.0, 1.0]])
    targets = torch.tensor([[1., 0, 0]])
    assert ranking_loss(scores, targets).item() == 0.0


def test_unknown_labels_are_ignored():
    torch.manual_seed(0)
    scores = torch.randn(4, 7, requires_grad=True)
    targets = torch.randint(-1, 2, (4, 7)).float()
    targets[:, 0] = 1
    targets[:, 1] = 0
    targets[:, 2] = -1
    loss = ranking_loss(scores, targets)
    loss.backward()
    assert torch.all(scores.grad[:, 2] == 0)
    moved = scores.detach().clone()
    moved[:, 2] += 100.0
    assert ranking_loss(moved, targets).item() == pytest.approx(loss.item())


def test_matches_pairwise_loop_on_random_data():
    torch.manual_seed(1)
    scores = torch.randn(6, 9)
    targets = torch.randint(-1, 2, (6, 9)).float()
    assert ranking_loss(scores, targets).item() == pytest.approx(
        _reference_loop(scores, targets), rel=1e-5)


def test_module_weight_and_errors():
    scores = torch.tensor([[0.9, 0.2]])
    targets = torch.tensor([[1., 0]])
    assert RankingLoss(loss_weight=2.0)(scores, targets).item() == \
        pytest.approx(2 * 0.3, rel=1e-6)
    with pytest.raises(ValueError, match='2 score columns and 1 label'):
        ranking_loss(scores, targets[:, :1])
    with pytest.raises(ValueError, match=r'values must be in.*\[2.0\]'):
        ranking_loss(scores, torch.tensor([[2., 0]]))


def test_l1_distillation():
    student = torch.tensor([[1.0, -2.0], [0.5, 0.0]], requires_grad=True)
    teacher = torch.tensor([[0.0, 0.0], [0.5, 1.0]], requires_grad=True)
    loss = L1DistillLoss(loss_weight=3.0)(student, teacher)
    assert loss.item() == pytest.approx(3.0 * (1 + 2 + 0 + 1) / 4)
    loss.backward()
    assert teacher.grad is None and student.grad is not None
    with pytest.raises(ValueError):
        L1DistillLoss()(student, teacher[:, :1])
