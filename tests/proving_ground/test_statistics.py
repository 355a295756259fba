"""Statistics over seeds: intervals and paired differences against
printed t tables, closed forms and hand-computed values."""
import math

import numpy as np
import pytest

from granzsl_mm.proving_ground.statistics import (
    paired_difference,
    sign_consistency,
    summarize,
)

# t_{0.975, df} from printed tables (4 decimals)
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 9: 2.2622,
        10: 2.2281, 20: 2.0860, 30: 2.0423}


@pytest.mark.parametrize('df,value', sorted(T975.items()))
def test_95_interval_uses_the_printed_t_quantile(df, value):
    x = np.linspace(50.0, 60.0, df + 1) ** 1.5 / 10.0  # n = df + 1 values
    s = summarize(x.tolist())
    sd = float(np.sqrt(((x - x.mean()) ** 2).sum() / df))
    assert s['sd'] == pytest.approx(sd, rel=1e-12)
    quantile = s['half_width'] * math.sqrt(df + 1) / sd
    assert quantile == pytest.approx(value, abs=5e-5)
    assert s['ci'] == pytest.approx([s['mean'] - s['half_width'],
                                     s['mean'] + s['half_width']])


@pytest.mark.parametrize('level', [0.5, 0.8, 0.9, 0.95, 0.99])
def test_interval_at_any_level_matches_the_closed_forms(level):
    # df = 1 is Cauchy: t_p = tan(pi (p - 1/2)); df = 2 has
    # F(t) = 1/2 + t / (2 sqrt(2 + t^2)), so t_p = (2p - 1) / sqrt(2p(1-p))
    p = 0.5 + level / 2.0
    closed = {1: math.tan(math.pi * (p - 0.5)),
              2: (2 * p - 1) / math.sqrt(2 * p * (1 - p))}
    for df, quantile in closed.items():
        values = [3.0, 7.5, 4.0][:df + 1]
        s = summarize(values, level=level)
        expected = quantile * s['sd'] / math.sqrt(df + 1)
        assert s['half_width'] == pytest.approx(expected, rel=1e-9)


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
