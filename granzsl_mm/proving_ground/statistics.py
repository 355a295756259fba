"""Statistics over seeds: mean, standard deviation, Student-t intervals and
paired differences.

A proving-ground number is a mean over ``N`` independent worlds (world, tiny
CLIP pre-training and every method's training seeded apart). Its 95 %
interval is the Student-t interval ``mean +- t_{0.975, N-1} * sd / sqrt(N)``
with the sample standard deviation (``ddof=1``; the quantile from
``scipy.stats.t``). A comparison of two methods uses the per-seed
differences (paired: both ran on the same world and tiny CLIP), not two
separate intervals.
"""
import math
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import stats

__all__ = ['summarize', 'paired_difference', 'sign_consistency']


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
        quantile = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
        half = quantile * sd / math.sqrt(n)
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
