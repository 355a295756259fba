"""Chance level of ranking metrics: the mAP of random scores, exactly.

For one class with ``P`` positives among ``N`` scored images, random scores
rank the images uniformly at random. A positive at rank ``r`` has, besides
itself, on average ``(r - 1)(P - 1)/(N - 1)`` positives above it, so

    E[AP] = (1/N) * sum_{r=1..N} (1 + (r-1)(P-1)/(N-1)) / r
          = (H_N + (P-1)(N - H_N)/(N-1)) / N,

with ``H_N`` the N-th harmonic number (``E[AP] = 1`` when ``N = 1``). It is
close to the prevalence ``P/N`` for large ``P`` and higher for few positives.
"""
from typing import Sequence, Union

import numpy as np

__all__ = ['expected_random_ap', 'chance_map']


def expected_random_ap(num_pos: int, num_items: int) -> float:
    """Expected non-interpolated AP of uniformly random scores.

    Args:
        num_pos (int): Positives ``P`` (0 gives NaN: AP is undefined).
        num_items (int): Scored items ``N >= P``.

    Returns:
        float: ``E[AP]`` in [0, 1].
    """
    if num_items < 1 or not 0 <= num_pos <= num_items:
        raise ValueError(f'need 0 <= num_pos <= num_items and num_items >= 1, '
                         f'got {num_pos}, {num_items}')
    if num_pos == 0:
        return float('nan')
    if num_items == 1:
        return 1.0
    harmonic = float(np.sum(1.0 / np.arange(1, num_items + 1)))
    return (harmonic + (num_pos - 1) * (num_items - harmonic) /
            (num_items - 1)) / num_items


def chance_map(targets: Union[np.ndarray, Sequence[Sequence[int]]],
               empty_class: str = 'zero',
               drop_empty_images: bool = False) -> float:
    """Expected mAP (in %) of random scores under the ZSL metric's protocol.

    Per class, entries labelled -1 are ignored (as by the metric); the class
    means follow ``empty_class`` exactly as
    :func:`granzsl_mm.evaluation.functional.multilabel_zsl_metrics` does.

    Args:
        targets: ``[N, C]`` labels in {1, 0, -1} of one label set.
        empty_class (str): ``'zero'`` (a class without positives counts as
            AP 0) or ``'skip'``.
        drop_empty_images (bool): Drop images without a positive first.

    Returns:
        float: Chance mAP in %.
    """
    targets = np.asarray(targets)
    if targets.ndim != 2:
        raise ValueError(f'targets must be [N, C], got {targets.shape}')
    if empty_class not in ('zero', 'skip'):
        raise ValueError("empty_class must be 'zero' or 'skip'")
    if drop_empty_images:
        targets = targets[(targets == 1).any(axis=1)]
    aps = []
    for col in targets.T:
        valid = int((col >= 0).sum())
        pos = int((col == 1).sum())
        if pos == 0:
            if empty_class == 'zero':
                aps.append(0.0)
            continue
        aps.append(expected_random_ap(pos, valid))
    return 100.0 * float(np.mean(aps)) if aps else 0.0
