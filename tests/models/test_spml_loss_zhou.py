"""EM and EM + APL (Zhou et al. 2022) against the reference's own losses on
recorded inputs (tests/fixtures/golden/zhou_apl_golden.json): per-entry
loss, loss and gradient for the four datasets' (alpha, beta), the soft
label 0 / -0.0 fallback to EM, extreme scores; VLPL's EM_PL under its own
name, former mode names refused."""
import json
import os.path as osp

import numpy as np
import pytest
import torch

from granzsl_mm.datasets.spml.apl_label_store import from_zhou_store
from granzsl_mm.models.losses import SPMLLoss, spml_loss, spml_loss_matrix

GOLDEN = osp.join(osp.dirname(__file__), '..', 'fixtures', 'golden',
                  'zhou_apl_golden.json')
DATASETS = ('pascal', 'coco', 'cub', 'nuswide')
# recorded on another CPU: its vectorised log / sum may round an ulp apart
GOLDEN_RTOL = 1e-6


@pytest.fixture(scope='module')
def golden():
    with open(GOLDEN) as f:
        return json.load(f)


def _ours(store):
    targets, soft = from_zhou_store(np.asarray(store))
    return torch.from_numpy(targets), torch.from_numpy(soft)


def _check(preds, store, mode, alpha, beta, ref):
    probs = torch.tensor(preds, dtype=torch.float32, requires_grad=True)
    targets, soft = _ours(store)
    matrix = spml_loss_matrix(probs, targets, mode, alpha=alpha, beta=beta,
                              soft_targets=soft)
    torch.testing.assert_close(
        matrix.detach(), torch.tensor(ref['loss_mtx'], dtype=torch.float32),
        rtol=GOLDEN_RTOL, atol=0)
    loss = spml_loss(probs, targets, mode, alpha=alpha, beta=beta,
                     soft_targets=soft)
    # their reduction, (loss_mtx / (N * C)).sum(), and ours (sum, then
    # divide) on our matrix: a few float32 ulps apart at most
    reduced = (matrix / matrix.numel()).sum().item()
    assert reduced == pytest.approx(ref['loss'], rel=GOLDEN_RTOL, abs=0)
    assert loss.item() == pytest.approx(ref['loss'], rel=GOLDEN_RTOL, abs=0)
    loss.backward()
    torch.testing.assert_close(
        probs.grad, torch.tensor(ref['grad_wrt_preds'], dtype=torch.float32),
        rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize('name', DATASETS)
def test_apl_equals_reference(golden, name):
    case = golden['loss_case']
    ref = case[name]
    _check(case['preds'], case['labels_em_apl'], 'apl', ref['alpha'],
           ref['beta'], ref['EM_APL'])


@pytest.mark.parametrize('name', DATASETS)
def test_em_equals_reference(golden, name):
    case = golden['loss_case']
    ref = case[name]
    _check(case['preds'], case['labels_em'], 'em', ref['alpha'], ref['beta'],
           ref['EM'])


def test_apl_extreme_scores_equal_reference(golden):
    case = golden['loss_extreme']
    _check(case['preds'], case['labels'], 'apl', case['alpha'], case['beta'],
           case['EM_APL'])


def test_soft_label_zero_falls_back_to_em(golden):
    """A soft label of exactly 0 (their -0.0, our soft target 0.0) costs the
    entropy term, as an unlabelled entry; NaN (no soft label) too."""
    case = golden['loss_case']
    assert case['labels_em_apl_signbit'][1][2] == 1  # the recorded -0.0
    probs = torch.tensor(case['preds'], dtype=torch.float32)
    targets, soft = _ours(case['labels_em_apl'])
    assert soft[1, 2].item() == 0.0
    apl = spml_loss_matrix(probs, targets, 'apl', alpha=0.1, beta=0.9,
                           soft_targets=soft)
    em = spml_loss_matrix(probs, targets, 'em', alpha=0.1)
    assert apl[1, 2] == em[1, 2] < 0
    only_zero = torch.full_like(soft, float('nan'))
    only_zero[1, 2] = 0.0
    torch.testing.assert_close(
        spml_loss_matrix(probs, targets, 'apl', alpha=0.1, beta=0.9,
                         soft_targets=only_zero), em, rtol=0, atol=0)
    # VLPL's EM_PL takes a soft target 0 as a negative pseudo-label
    pl = spml_loss_matrix(probs, targets, 'em_pl', alpha=0.1, beta=0.9,
                          soft_targets=only_zero)
    p = probs[1, 2]
    torch.testing.assert_close(pl[1, 2], 0.9 * -torch.log(1 - p + 1e-5))


def test_em_pl_is_vlpl_and_other_names_are_refused():
    probs = torch.tensor([[0.8, 0.3, 0.6]])
    targets = torch.tensor([[1.0, -1.0, -1.0]])
    soft = torch.tensor([[float('nan'), 0.9, float('nan')]])
    got = spml_loss_matrix(probs, targets, 'em_pl', alpha=0.2, beta=0.7,
                           soft_targets=soft)
    nl = lambda x: -torch.log(x + 1e-5)  # noqa: E731
    p = probs[0]
    expected = torch.stack([
        nl(p[0]),
        0.7 * (0.9 * nl(p[1]) + 0.1 * nl(1 - p[1])),  # VLPL: 0.9 / 0.1
        -0.2 * (p[2] * nl(p[2]) + (1 - p[2]) * nl(1 - p[2]))])
    torch.testing.assert_close(got[0], expected)
    for former in ('em_apl', 'zhou'):
        with pytest.raises(ValueError, match="'an', 'em', 'em_pl', 'apl'"):
            spml_loss_matrix(probs, targets, former, soft_targets=soft)
        with pytest.raises(ValueError, match="'an', 'em', 'em_pl', 'apl'"):
            SPMLLoss(mode=former)
    with pytest.raises(ValueError, match='mode'):
        spml_loss(probs, targets, 'zhou')
