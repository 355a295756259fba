"""Evaluation reports: per-class AP (JSON, CSV), AP by level, PNG plots."""
import csv
import io
import json
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_savefig, atomic_write_text

__all__ = ['mean_pr_curve', 'ap_by_level', 'write_reports']


def mean_pr_curve(scores: np.ndarray, targets: np.ndarray,
                  num_points: int = 101) -> Tuple[np.ndarray, np.ndarray]:
    """Precision-recall curve averaged over classes on a recall grid.

    For each class with positives (entries labelled -1 ignored), precision
    is interpolated as the maximum precision at recall >= r.

    Args:
        scores: ``[N, C]`` scores.
        targets: ``[N, C]`` labels in {1, 0, -1}.
        num_points: Recall grid size on [0, 1].

    Returns:
        tuple: ``(recall [P], mean precision [P])``.
    """
    grid = np.linspace(0.0, 1.0, num_points)
    curves = []
    for c in range(scores.shape[1]):
        valid = targets[:, c] >= 0
        hits = targets[valid, c] == 1
        if not hits.any():
            continue
        order = np.argsort(-scores[valid, c], kind='stable')
        tp = np.cumsum(hits[order])
        prec = tp / np.arange(1, tp.size + 1)
        rec = tp / tp[-1]
        # Interpolated precision: max precision at recall >= r.
        env = np.maximum.accumulate(prec[::-1])[::-1]
        pos = np.searchsorted(rec, grid, side='left')
        curves.append(np.where(pos < env.size,
                               env[np.minimum(pos, env.size - 1)], 0.0))
    if not curves:
        return grid, np.zeros_like(grid)
    return grid, np.mean(curves, axis=0)


def ap_by_level(per_class_ap: np.ndarray, levels: np.ndarray) -> Dict:
    """Mean AP (ignoring NaN = empty classes) per granularity level.

    Args:
        per_class_ap: ``[C]`` AP values (NaN for empty classes).
        levels: ``[C]`` integer levels.

    Returns:
        dict: ``{level: {'mAP': float, 'num_classes': int}}``.
    """
    out = {}
    for level in sorted(set(int(v) for v in levels)):
        vals = per_class_ap[levels == level]
        vals = vals[~np.isnan(vals)]
        out[level] = dict(mAP=float(vals.mean()) if vals.size else None,
                          num_classes=int(vals.size))
    return out


def _plot_bars(path: str, names, ap: np.ndarray, is_seen: np.ndarray,
               title: str) -> None:
    """Per-class AP bar chart, seen and unseen classes coloured."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    width = max(6.0, 0.15 * len(ap))
    fig, ax = plt.subplots(figsize=(min(width, 60.0), 4))
    colours = np.where(is_seen, 'tab:blue', 'tab:orange')
    ax.bar(np.arange(len(ap)), np.nan_to_num(ap), color=colours)
    if len(ap) <= 100:
        ax.set_xticks(np.arange(len(ap)))
        ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_ylabel('AP (%)')
    ax.set_title(title + '  (blue: seen, orange: unseen)')
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def _plot_pr(path: str, curves: Dict[str, tuple]) -> None:
    """Mean precision-recall curves of the label sets."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, (rec, prec) in curves.items():
        ax.plot(rec, prec, label=name)
    ax.set_xlabel('recall')
    ax.set_ylabel('mean precision over classes')
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def _plot_levels(path: str, by_level: Dict[str, dict]) -> None:
    """Grouped bars: mAP of each granularity level, per label set."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    levels = sorted({int(k) for v in by_level.values() for k in v})
    names = list(by_level)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(levels)), 3.5))
    for i, name in enumerate(names):
        vals = [by_level[name].get(str(lv), {}).get('mAP') for lv in levels]
        ax.bar(np.arange(len(levels)) + i * width,
               [0.0 if v is None else v for v in vals], width, label=name)
    ax.set_xticks(np.arange(len(levels)) + width * (len(names) - 1) / 2)
    ax.set_xticklabels([f'level {lv}' for lv in levels])
    ax.set_ylabel('mAP (%) of non-empty classes')
    ax.legend()
    fig.tight_layout()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def write_reports(out_dir: str,
                  per_class: Dict[str, tuple],
                  arrays: Dict[str, tuple],
                  dataset_meta: Optional[dict] = None,
                  prefix: Optional[str] = None,
                  plots: bool = True) -> Dict[str, str]:
    """Write per-class AP (JSON, CSV), AP by level and PNG plots.

    Args:
        out_dir: Output directory (created).
        per_class: label set -> ``(class indices, per-class AP in %)``.
        arrays: label set -> ``(scores, targets, class indices)`` (for the
            precision-recall curves).
        dataset_meta: ``classes``, ``seen_classes``, optional
            ``class_levels``.
        prefix: Optional file name prefix.
        plots: Also write PNG plots.

    Returns:
        dict: kind -> written file path.
    """
    os.makedirs(out_dir, exist_ok=True)
    meta = dataset_meta or {}
    stem = f'{prefix}_' if prefix else ''
    num_classes = max(int(idx.max()) + 1 for idx, _ in per_class.values())
    classes = list(meta.get('classes', []))
    if len(classes) < num_classes:
        classes = [f'class_{i}' for i in range(num_classes)]
    num_seen = len(meta.get('seen_classes', classes))
    levels = meta.get('class_levels')
    rows = []
    for name, (idx, ap) in per_class.items():
        for i, value in zip(idx, ap):
            rows.append(dict(
                label_set=name, index=int(i), name=classes[int(i)],
                split='seen' if i < num_seen else 'unseen',
                level=None if levels is None else int(levels[int(i)]),
                AP=None if np.isnan(value) else float(value)))
    paths = dict(json=osp.join(out_dir, f'{stem}per_class_ap.json'),
                 csv=osp.join(out_dir, f'{stem}per_class_ap.csv'))
    report = dict(per_class=rows)
    if levels is not None:
        levels_arr = np.asarray(levels)
        report['ap_by_level'] = {
            name: {str(k): v for k, v in ap_by_level(
                ap, levels_arr[idx]).items()}
            for name, (idx, ap) in per_class.items()}
    atomic_write_text(json.dumps(report, indent=1), paths['json'])
    table = io.StringIO(newline='')
    writer = csv.DictWriter(table, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(table.getvalue(), paths['csv'])
    if plots:
        for name, (idx, ap) in per_class.items():
            path = osp.join(out_dir, f'{stem}per_class_ap_{name}.png')
            _plot_bars(path, [classes[int(i)] for i in idx], ap,
                       idx < num_seen, f'per-class AP ({name})')
            paths[f'bars_{name}'] = path
        if 'ap_by_level' in report:
            paths['ap_by_level'] = osp.join(out_dir,
                                            f'{stem}ap_by_level.png')
            _plot_levels(paths['ap_by_level'], report['ap_by_level'])
        curves = {n: mean_pr_curve(a[0], a[1]) for n, a in arrays.items()}
        paths['pr_curve'] = osp.join(out_dir, f'{stem}pr_curve.png')
        _plot_pr(paths['pr_curve'], curves)
    return paths
