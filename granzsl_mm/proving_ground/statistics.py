"""Statistics over seeds: mean, standard deviation, Student-t intervals and
paired differences (numpy only; no scipy needed).

A proving-ground number is a mean over ``N`` independent worlds (world, tiny
CLIP pre-training and every method's training seeded apart). Its 95 %
interval is the Student-t interval ``mean +- t_{0.975, N-1} * sd / sqrt(N)``
with the sample standard deviation (``ddof=1``). A comparison of two methods
uses the per-seed differences (paired: both ran on the same world and tiny
CLIP), not two separate intervals.
"""
import math
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = ['student_t_cdf', 't_quantile', 'summarize', 'paired_difference',
           'sign_consistency']


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) +
                     a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def student_t_cdf(t: float, df: float) -> float:
    """CDF of Student's t distribution with ``df`` degrees of freedom.

    Args:
        t (float): The value.
        df (float): Degrees of freedom (> 0).

    Returns:
        float: ``P(T <= t)``.
    """
    if not df > 0:
        raise ValueError(f'df must be positive, got {df}')
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t (``p`` in (0, 1); 0.975 for a two-sided 95 %
    interval), by bisection on :func:`student_t_cdf` to 1e-12.

    Args:
        p (float): Probability.
        df (float): Degrees of freedom (> 0).

    Returns:
        float: ``t`` with ``P(T <= t) = p``.
    """
    if not 0.0 < p < 1.0:
        raise ValueError(f'p must lie in (0, 1), got {p}')
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while student_t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if student_t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return 0.5 * (lo + hi)


def summarize(values: Sequence[float], level: float = 0.95) -> Dict:
    """Mean, sample standard deviation and the Student-t interval.

    Args:
        values (Sequence[float]): One value per seed.
        level (float): Coverage of the two-sided interval.

    Returns:
        dict: ``n``, ``mean``, ``sd`` (``ddof=1``; NaN for one value),
        ``ci`` (``[low, high]``, None for one value), ``half_width``,
        ``values`` (as given, floats).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError('summarize needs a non-empty 1-d sequence')
    if not np.all(np.isfinite(x)):
        raise ValueError(f'values must be finite, got {x.tolist()}')
    n = int(x.size)
    mean = float(x.mean())
    out = dict(n=n, mean=mean, sd=float('nan'), ci=None, half_width=None,
               values=[float(v) for v in x])
    if n > 1:
        sd = float(x.std(ddof=1))
        half = t_quantile(0.5 + level / 2.0, n - 1) * sd / math.sqrt(n)
        out.update(sd=sd, ci=[mean - half, mean + half], half_width=half)
    return out


def sign_consistency(diffs: Sequence[float], tol: float = 0.0) -> str:
    """``'higher'`` / ``'lower'`` when every difference is above / below
    ``tol`` in magnitude with one sign, else ``'mixed'``."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size and np.all(d > tol):
        return 'higher'
    if d.size and np.all(d < -tol):
        return 'lower'
    return 'mixed'


def paired_difference(a: Sequence[float], b: Sequence[float],
                      level: float = 0.95,
                      labels: Optional[Sequence] = None) -> Dict:
    """``a - b`` seed by seed, summarised (:func:`summarize`), with the
    direction that holds on every seed (:func:`sign_consistency`).

    Args:
        a (Sequence[float]): One value per seed.
        b (Sequence[float]): The reference, same seeds in the same order.
        level (float): Interval coverage.
        labels (Sequence, optional): Seed labels, kept with the values.

    Returns:
        dict: :func:`summarize` of the differences plus ``every_seed``
        (``'higher'``, ``'lower'`` or ``'mixed'``), ``num_higher`` and,
        when given, ``seeds``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f'paired values need equal lengths, got {a.shape} '
                         f'and {b.shape}')
    diffs = a - b
    out = summarize(diffs, level)
    out['every_seed'] = sign_consistency(diffs)
    out['num_higher'] = int((diffs > 0).sum())
    if labels is not None:
        out['seeds'] = list(labels)
    return out
