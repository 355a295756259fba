"""Read mmengine's JSON-lines scalar logs; plot curves; time statistics."""
import json
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

from .atomic_io import atomic_savefig

__all__ = ['load_scalar_log', 'plot_curves', 'train_time_stats']


def load_scalar_log(path: str) -> Dict[str, List[dict]]:
    """Split a ``vis_data/scalars.json`` (or ``<timestamp>.json``) log.

    Args:
        path (str): The JSON-lines log written by mmengine's LocalVisBackend.

    Returns:
        dict: ``{'train': [...], 'val': [...]}`` lists of records; a record
        with a ``loss`` or ``lr`` key is a training record.
    """
    out: Dict[str, List[dict]] = defaultdict(list)
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{line_no} is not JSON: {err}') from None
            mode = 'train' if ('lr' in record or 'loss' in record) else 'val'
            out[mode].append(record)
    return dict(out)


def plot_curves(logs: Sequence[Dict[str, List[dict]]], keys: Sequence[str],
                out_file: str, legend: Optional[Sequence[str]] = None,
                title: Optional[str] = None) -> str:
    """Plot ``keys`` against step for one or more logs into a PNG.

    Args:
        logs: Logs from :func:`load_scalar_log`.
        keys: Scalar names, e.g. ``loss`` or ``zsl/mAP``.
        out_file (str): PNG path.
        legend: Names of the logs (defaults to ``log0``, ``log1``, ...).
        title (str, optional): Figure title.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, log in enumerate(logs):
        name = legend[i] if legend else f'log{i}'
        for key in keys:
            for mode, records in log.items():
                pts = [(r.get('step', j), r[key]) for j, r in
                       enumerate(records) if key in r]
                if pts:
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, marker='.' if mode == 'val' else None,
                            label=f'{name} {mode} {key}')
    if not ax.lines:
        plt.close(fig)
        raise KeyError(f'None of {list(keys)} is in the given logs.')
    ax.set_xlabel('step (iteration for train, epoch for val)')
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    try:
        return atomic_savefig(fig, out_file, dpi=120)
    finally:
        plt.close(fig)


def train_time_stats(log: Dict[str, List[dict]]) -> Dict[str, float]:
    """Average, slowest and fastest iteration times of a training log.

    Args:
        log: A log from :func:`load_scalar_log`.

    Returns:
        dict: ``mean``, ``std``, ``max``, ``min`` seconds per iteration.
    """
    times = np.array([r['time'] for r in log.get('train', []) if 'time' in r])
    if times.size == 0:
        raise ValueError('The log has no training iteration times.')
    return dict(mean=float(times.mean()), std=float(times.std()),
                max=float(times.max()), min=float(times.min()))
