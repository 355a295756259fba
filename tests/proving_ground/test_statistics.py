"""Statistics over seeds: t quantiles, intervals and paired differences
against hand-computed values and scipy (when installed)."""
import math

import numpy as np
import pytest

from granzsl_mm.proving_ground.statistics import (
    paired_difference,
    sign_consistency,
    student_t_cdf,
    summarize,
    t_quantile,
)

# t_{0.975, df} from printed tables (4 decimals)
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 9: 2.2622,
        10: 2.2281, 20: 2.0860, 30: 2.0423}


@pytest.mark.parametrize('df,value', sorted(T975.items()))
def test_t_quantile_matches_the_printed_table(df, value):
    assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-5)
    assert t_quantile(0.025, df) == pytest.approx(-value, abs=5e-5)


def test_t_cdf_closed_forms():
    # df = 1 is Cauchy, df = 2 has F(t) = 1/2 + t / (2 sqrt(2 + t^2))
    for t in (-3.0, -0.4, 0.0, 0.7, 5.0):
        assert student_t_cdf(t, 1) == pytest.approx(
            0.5 + math.atan(t) / math.pi, abs=1e-12)
        assert student_t_cdf(t, 2) == pytest.approx(
            0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-12)


def test_against_scipy():
    stats = pytest.importorskip('scipy.stats')
    for df in (1, 2, 3, 4, 7, 15, 29, 60):
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df),
                                                      abs=1e-9)
        assert t_quantile(0.9, df) == pytest.approx(stats.t.ppf(0.9, df),
                                                    abs=1e-9)
        for t in (-2.5, -0.3, 1.1, 4.0):
            assert student_t_cdf(t, df) == pytest.approx(stats.t.cdf(t, df),
                                                         abs=1e-12)
    x = [61.2, 64.0, 58.9, 66.3, 60.1]
    s = summarize(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x),
                              scale=stats.sem(x))
    assert s['ci'] == pytest.approx([lo, hi], abs=1e-9)


def test_summarize_by_hand():
    s = summarize([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(5.0 / 3.0)  # sum of squares 5, n - 1 = 3
    assert (s['n'], s['mean']) == (4, 2.5)
    assert s['sd'] == pytest.approx(sd)
    half = T975[3] * sd / 2.0
    assert s['half_width'] == pytest.approx(half, abs=1e-4)
    assert s['ci'] == pytest.approx([2.5 - half, 2.5 + half], abs=1e-4)
    one = summarize([7.0])
    assert one['mean'] == 7.0 and math.isnan(one['sd']) and one['ci'] is None
    with pytest.raises(ValueError):
        summarize([])
    with pytest.raises(ValueError):
        summarize([1.0, float('nan')])


def test_paired_difference_and_every_seed_wording():
    a, b = [70.0, 72.0, 69.0], [68.0, 71.5, 69.5]
    d = paired_difference(a, b, labels=[0, 1, 2])
    assert d['values'] == pytest.approx([2.0, 0.5, -0.5])
    assert d['mean'] == pytest.approx(2.0 / 3.0)
    assert d['every_seed'] == 'mixed' and d['num_higher'] == 2
    assert d['seeds'] == [0, 1, 2]
    # the paired interval is the one-sample interval of the differences
    assert d['ci'] == pytest.approx(summarize([2.0, 0.5, -0.5])['ci'])
    assert sign_consistency([1.0, 0.1]) == 'higher'
    assert sign_consistency([-1.0, -0.1]) == 'lower'
    assert sign_consistency([0.0, 1.0]) == 'mixed'
    with pytest.raises(ValueError, match='equal lengths'):
        paired_difference([1.0, 2.0], [1.0])
