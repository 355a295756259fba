"""Chance mAP: the exact expectation against random draws and brute force."""
import itertools

import numpy as np
import pytest

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics, per_class_ap
from granzsl_mm.evaluation.functional.chance import chance_map, expected_random_ap


@pytest.mark.parametrize('pos,num', [(1, 4), (2, 4), (3, 5), (4, 4)])
def test_expected_ap_equals_enumeration(pos, num):
    """Average AP over every placement of the positives (all rankings)."""
    aps = []
    for places in itertools.combinations(range(num), pos):
        labels = np.zeros(num, dtype=np.int8)
        labels[list(places)] = 1
        scores = -np.arange(num, dtype=np.float64)  # rank = index
        aps.append(per_class_ap(scores[:, None], labels[:, None])[0])
    assert expected_random_ap(pos, num) == pytest.approx(np.mean(aps),
                                                         rel=1e-12)


def test_chance_map_matches_random_scores_under_the_metric():
    rng = np.random.default_rng(0)
    targets = (rng.random((150, 6)) < [0.05, 0.1, 0.2, 0.4, 0.6, 0.0]).astype(
        np.int8)
    targets[:10, 1] = -1  # unknowns are ignored by both
    draws = [multilabel_zsl_metrics(rng.random(targets.shape), targets)['mAP']
             for _ in range(600)]
    exact = chance_map(targets)
    assert abs(np.mean(draws) - exact) < 4 * np.std(draws) / np.sqrt(600)
    # protocol options follow the metric's
    skip = chance_map(targets, empty_class='skip')
    assert skip == pytest.approx(exact * 6 / 5)
    assert chance_map(targets, drop_empty_images=True) > exact


def test_chance_bad_input():
    with pytest.raises(ValueError):
        expected_random_ap(3, 2)
    assert np.isnan(expected_random_ap(0, 5))
    assert expected_random_ap(1, 1) == 1.0
    with pytest.raises(ValueError):
        chance_map(np.zeros(5))
