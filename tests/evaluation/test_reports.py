"""Report helpers: interpolated mean PR curve and AP by level (by hand)."""
import numpy as np
import pytest

from granzsl_mm.evaluation.reports import ap_by_level, mean_pr_curve


def test_mean_pr_curve_hand_computed():
    # class 0 ranking: + - + -  -> precision 1, 1/2, 2/3, 1/2 at recall
    # 1/2, 1/2, 1, 1; interpolated (max precision at recall >= r):
    # r=0 -> 1, r=0.5 -> 1, r=1 -> 2/3.  class 1: the positive ranked 2nd
    # -> 1/2 at every r.  Unknown (-1) entries and empty classes ignored.
    scores = np.array([[0.9, 0.9], [0.8, 0.8], [0.7, 0.1], [0.1, 0.5],
                       [0.95, 0.0]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [-1, -1]])
    rec, prec = mean_pr_curve(scores[:, :1], targets[:, :1], num_points=3)
    np.testing.assert_allclose(rec, [0, 0.5, 1])
    np.testing.assert_allclose(prec, [1, 1, 2 / 3])
    _, both = mean_pr_curve(scores, targets, num_points=3)
    np.testing.assert_allclose(both, [(1 + .5) / 2, (1 + .5) / 2,
                                      (2 / 3 + .5) / 2])
    empty = np.zeros((5, 1), dtype=int)
    _, with_empty = mean_pr_curve(np.c_[scores, scores[:, :1]],
                                  np.c_[targets, empty], num_points=3)
    np.testing.assert_allclose(with_empty, both)


def test_ap_by_level_ignores_empty_classes():
    ap = np.array([10.0, np.nan, 30.0, 50.0])
    res = ap_by_level(ap, np.array([0, 0, 1, 1]))
    assert res[0] == dict(mAP=pytest.approx(10.0), num_classes=1)
    assert res[1] == dict(mAP=pytest.approx(40.0), num_classes=2)
