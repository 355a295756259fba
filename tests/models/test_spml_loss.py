"""SPML losses against hand-computed values; the stock-head wrappers mask
unknown labels (zero gradient) and carry soft targets."""
import math

import pytest
import torch
from mmpretrain.models.heads import MultiLabelLinearClsHead
from mmpretrain.structures import DataSample

from granzsl_mm.models.heads import SPMLLinearClsHead
from granzsl_mm.models.losses import MaskedBCELoss, SPMLLoss, masked_bce_loss, spml_loss

NAN = float('nan')
# 2 images x 3 classes: positive, negative, unknown entries.
PROBS = [[0.9, 0.2, 0.6], [0.3, 0.7, 0.05]]
TARGETS = [[1, 0, -1], [-1, 1, -1]]
SOFT = [[NAN, NAN, 0.8], [NAN, NAN, NAN]]


def nl(x):
    return -math.log(x + 1e-5)


def entropy(p):
    return p * nl(p) + (1 - p) * nl(1 - p)


def _t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_an_hand_computed():
    expected = (nl(0.9) + nl(1 - 0.2) + nl(1 - 0.6)
                + nl(1 - 0.3) + nl(0.7) + nl(1 - 0.05)) / 6
    got = spml_loss(_t(PROBS), _t(TARGETS), 'an')
    assert got.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize('alpha', [0.1, 0.2])
def test_em_hand_computed(alpha):
    expected = (nl(0.9) + nl(1 - 0.2) - alpha * entropy(0.6)
                - alpha * entropy(0.3) + nl(0.7)
                - alpha * entropy(0.05)) / 6
    got = spml_loss(_t(PROBS), _t(TARGETS), 'em', alpha=alpha)
    assert got.item() == pytest.approx(expected, rel=1e-12)


def test_em_pl_hand_computed():
    alpha, beta = 0.1, 0.7
    expected = (nl(0.9) + nl(1 - 0.2)
                + beta * (0.8 * nl(0.6) + 0.2 * nl(1 - 0.6))  # soft target
                - alpha * entropy(0.3) + nl(0.7)
                - alpha * entropy(0.05)) / 6
    got = spml_loss(_t(PROBS), _t(TARGETS), 'em_pl', alpha=alpha, beta=beta,
                    soft_targets=_t(SOFT))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    # without (or with all-NaN) soft targets it is 'em'
    em = spml_loss(_t(PROBS), _t(TARGETS), 'em', alpha=alpha)
    assert spml_loss(_t(PROBS), _t(TARGETS), 'em_pl',
                     alpha=alpha).item() == pytest.approx(em.item())
    all_nan = torch.full((2, 3), NAN, dtype=torch.float64)
    assert spml_loss(_t(PROBS), _t(TARGETS), 'em_pl', alpha=alpha,
                     soft_targets=all_nan).item() == pytest.approx(em.item())


def test_soft_targets_only_change_unknowns():
    """A soft target on an observed entry is ignored."""
    soft = _t([[0.0, 1.0, NAN], [NAN, 0.0, NAN]])
    a = spml_loss(_t(PROBS), _t(TARGETS), 'em_pl', soft_targets=soft)
    b = spml_loss(_t(PROBS), _t(TARGETS), 'em_pl')
    assert a.item() == pytest.approx(b.item(), rel=1e-12)


def test_gradients_finite_at_extremes():
    probs = _t([[0.0, 1.0, 0.5]]).requires_grad_()
    loss = spml_loss(probs, _t([[1, -1, 0]]), 'em_pl',
                     soft_targets=_t([[NAN, 1.0, NAN]]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(probs.grad).all()


@pytest.mark.parametrize('kwargs,match', [
    (dict(mode='bce'), 'mode'),
    (dict(targets=_t([[1, 2, 0], [0, 0, 0]])), r'values must be in \{1, 0, -1\}'),
    (dict(targets=_t([[1, 0]])), '2 score rows and 1 label rows'),
    (dict(probs=_t([[1.5, 0.2, 0.3], [0.1, 0.1, 0.1]])), 'probabilities'),
    (dict(soft_targets=_t([[0.5]])), 'soft_targets'),
])
def test_bad_input(kwargs, match):
    args = dict(probs=_t(PROBS), targets=_t(TARGETS), mode='an')
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        spml_loss(**args)


def test_module_takes_logits_and_avg_factor():
    logits = torch.tensor([[2.0, -1.0, 0.3], [-0.5, 1.2, -3.0]])
    target = torch.tensor([[1.0, 0.0, -1.0], [-1.0, 1.0, -1.0]])
    module = SPMLLoss(mode='em', alpha=0.2, loss_weight=2.0)
    ref = 2.0 * spml_loss(logits.sigmoid(), target, 'em', alpha=0.2)
    assert module(logits, target).item() == pytest.approx(ref.item())
    # MMPretrain heads pass avg_factor = N: the same value
    assert module(logits, target, avg_factor=2).item() == pytest.approx(
        ref.item())
    with pytest.raises(ValueError, match='mode'):
        SPMLLoss(mode='nope')


def test_masked_bce_hand_computed():
    logits = torch.tensor([[2.0, -1.0, 0.3]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0.0, -1.0]], dtype=torch.float64)

    def bce(x, y):
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    known = bce(2.0, 1) + bce(-1.0, 0)
    assert masked_bce_loss(logits, target).item() == pytest.approx(known / 2)
    assert masked_bce_loss(logits, target, 'sum').item() == pytest.approx(
        known)
    assert masked_bce_loss(logits, target, 'mean_all').item() == \
        pytest.approx(known / 3)
    soft = torch.tensor([[NAN, NAN, 0.25]], dtype=torch.float64)
    with_soft = masked_bce_loss(logits, target, 'sum', soft_targets=soft)
    assert with_soft.item() == pytest.approx(known + bce(0.3, 0.25))
    with pytest.raises(ValueError, match='reduction'):
        masked_bce_loss(logits, target, 'avg')


def _samples(scores, softs=None):
    out = []
    for i, score in enumerate(scores):
        s = DataSample().set_gt_score(torch.tensor(score))
        if softs is not None:
            s.set_field(torch.tensor(softs[i]), 'soft_targets')
        out.append(s)
    return out


def test_stock_head_unknown_label_has_zero_gradient():
    """A stock MultiLabelLinearClsHead with our masked loss: class 2 is
    unknown (-1) in every sample, so its weights get exactly zero gradient
    and its logits do not change the loss."""
    torch.manual_seed(0)
    head = MultiLabelLinearClsHead(num_classes=4, in_channels=5,
                                   loss=MaskedBCELoss())
    feats = torch.randn(3, 5)
    samples = _samples([[1, 0, -1, 0], [0, -1, -1, 1], [-1, 1, -1, 0]])
    loss = head.loss((feats, ), samples)['loss']
    loss.backward()
    grad = head.fc.weight.grad
    assert torch.equal(grad[2], torch.zeros(5))
    assert head.fc.bias.grad[2] == 0
    assert (grad[[0, 1, 3]].abs().sum(1) > 0).all()
    with torch.no_grad():  # moving the unknown class's logit: same loss
        head.fc.bias[2] += 5.0
    assert head.loss((feats, ), samples)['loss'].item() == pytest.approx(
        loss.item())
    # the stock loss would have trained on the -1 as a target
    stock = MultiLabelLinearClsHead(num_classes=4, in_channels=5)
    stock.load_state_dict(head.state_dict())
    stock.loss((feats, ), samples)['loss'].backward()
    assert stock.fc.weight.grad[2].abs().sum() > 0


def test_spml_head_carries_soft_targets():
    torch.manual_seed(0)
    head = SPMLLinearClsHead(num_classes=3, in_channels=4, loss=dict(
        type='SPMLLoss', mode='em_pl', alpha=0.1, beta=0.7))
    feats = torch.randn(2, 4)
    scores = [[1, -1, -1], [-1, -1, 1]]
    softs = [[NAN, 0.9, NAN], [NAN, NAN, NAN]]
    loss = head.loss((feats, ), _samples(scores, softs))['loss']
    probs = head((feats, )).sigmoid().detach()
    ref = spml_loss(probs, torch.tensor(scores, dtype=torch.float32),
                    'em_pl', alpha=0.1, beta=0.7,
                    soft_targets=torch.tensor(softs))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    # samples without the field: plain 'em'
    no_soft = head.loss((feats, ), _samples(scores))['loss']
    em = spml_loss(probs, torch.tensor(scores, dtype=torch.float32), 'em',
                   alpha=0.1)
    assert no_soft.item() == pytest.approx(em.item(), rel=1e-6)
    # masked BCE in the same head: only observed entries and soft targets
    bce_head = SPMLLinearClsHead(num_classes=3, in_channels=4,
                                 loss=dict(type='MaskedBCELoss',
                                           reduction='sum'))
    bce_head.load_state_dict(head.state_dict())
    feats.requires_grad_()
    out = bce_head.loss((feats, ), _samples(scores, softs))['loss']
    logits = bce_head((feats, ))
    out.backward()
    manual = masked_bce_loss(
        logits.detach(), torch.tensor(scores, dtype=torch.float32), 'sum',
        soft_targets=torch.tensor(softs))
    assert out.item() == pytest.approx(manual.item(), rel=1e-6)
    # (image 1, class 1) is unknown with no soft target: zero gradient
    bce_head.zero_grad()
    logits = bce_head((feats.detach(), ))
    logits.retain_grad()
    target = torch.tensor(scores, dtype=torch.float32)
    bce_head.loss_module(logits, target,
                         soft_targets=torch.tensor(softs)).backward()
    assert logits.grad[1, 1] == 0 and logits.grad[1, 0] == 0
    assert logits.grad[0, 1] != 0  # unknown with a soft target is trained


def test_stack_targets_from_labels_and_errors():
    from granzsl_mm.models.heads import stack_multilabel_targets
    samples = [DataSample().set_gt_label([0, 2]),
               DataSample().set_gt_score(torch.tensor([-1.0, 1.0, 0.0]))]
    targets, soft = stack_multilabel_targets(samples, 3)
    assert targets.tolist() == [[1, 0, 1], [-1, 1, 0]] and soft is None
    samples[1].set_field(torch.tensor([NAN, NAN, 0.5]), 'soft_targets')
    _, soft = stack_multilabel_targets(samples, 3)
    assert torch.isnan(soft[0]).all() and soft[1, 2] == 0.5
    with pytest.raises(ValueError, match='4 classes'):
        stack_multilabel_targets(
            [DataSample().set_gt_score(torch.zeros(4))], 3)
