"""Per-source Platt calibration on synthetic scores; separate rankings."""
import math

import pytest
import torch

from granzsl_mm.apis.score_calibration import (
    ScoreCalibration,
    expected_calibration_error,
    fit_platt,
    fit_score_calibration,
)
from granzsl_mm.apis.score_ranking import rank_by_source


def _synthetic(n=4000, seed=0):
    """Two sources on different scales; true P(y=1) known per source."""
    g = torch.Generator().manual_seed(seed)
    true = dict(learned=(0.5, -5.0), prompt=(2.0, 30.0))  # p = sig(a s + b)
    sources = ['learned'] * 3 + ['prompt'] * 3
    scores = torch.cat([torch.randn(n, 3, generator=g) * 4 + 10,
                        torch.randn(n, 3, generator=g) * 1 - 15], 1)
    a = torch.tensor([true[s][0] for s in sources])
    b = torch.tensor([true[s][1] for s in sources])
    probs = torch.sigmoid(a * scores + b)
    labels = (torch.rand(n, 6, generator=g) < probs).float()
    return scores, labels, sources, true


def test_platt_recovers_parameters():
    scores, labels, sources, true = _synthetic()
    a, b = fit_platt(scores[:, :3], labels[:, :3])
    assert a == pytest.approx(true['learned'][0], rel=0.1)
    assert b == pytest.approx(true['learned'][1], abs=0.6)


def test_fit_reports_small_error_on_held_out_split():
    scores, labels, sources, _ = _synthetic()
    check = _synthetic(seed=1)[:2]
    cal = fit_score_calibration(scores, labels, sources, check=check)
    assert set(cal.ece) == {'learned', 'prompt', 'all'}
    assert cal.ece['all'] < 0.03
    # raw sigmoid of the scores is far off (the scales differ)
    raw = expected_calibration_error(torch.sigmoid(check[0]), check[1])
    assert raw > 0.3


def test_numpy_arrays_fit_as_tensors_do():
    scores, labels, sources, _ = _synthetic(n=500)
    check = _synthetic(n=500, seed=1)[:2]
    from_torch = fit_score_calibration(scores, labels, sources, check=check)
    from_numpy = fit_score_calibration(
        scores.numpy(), labels.numpy(), sources,
        check=(check[0].numpy(), check[1].numpy()))
    assert from_numpy.params == from_torch.params
    assert from_numpy.ece == from_torch.ece


def test_ece_exact_small_case():
    probs = torch.tensor([0.05, 0.05, 0.95, 0.95])
    labels = torch.tensor([0., 1., 1., 1.])
    # bin 0: freq 0.5 vs 0.05; bin 9: freq 1 vs 0.95 -> (0.45 + 0.05) / 2
    assert expected_calibration_error(probs, labels) == pytest.approx(0.25)


def test_apply_save_load(tmp_path):
    cal = ScoreCalibration(dict(learned=(1.0, 0.0), prompt=(2.0, 1.0)),
                           dict(all=0.1))
    back = ScoreCalibration.load(cal.save(str(tmp_path / 'c.json')))
    out = back.apply(torch.tensor([[0.0, 1.0]]), ['learned', 'prompt'])
    assert out[0, 0] == pytest.approx(0.5)
    assert out[0, 1] == pytest.approx(1 / (1 + math.exp(-3)))
    with pytest.raises(ValueError, match='no parameters'):
        back.apply(torch.zeros(1, 1), ['other'])


def test_rank_by_source_keeps_scales_apart():
    row = torch.tensor([11.25, -15.0, 9.0, -14.0])
    out = rank_by_source(row, ['red circle', 'cat', 'blue', 'dog'],
                         ['learned', 'prompt', 'learned', 'prompt'], topk=1)
    assert out == dict(learned=dict(labels=['red circle'], scores=[11.25]),
                       prompt=dict(labels=['dog'], scores=[-14.0]))
