"""Evaluation reports: per-class AP (JSON, CSV), AP by level, PNG plots."""
import csv
import io
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_savefig, atomic_write_text

__all__ = ['mean_pr_curve', 'ap_by_level', 'class_chance_ap',
           'bars_figure', 'levels_figure', 'pr_figure',
           'write_reports']


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


# class names are drawn when there are at most this many bars (names of
# larger label sets are in the CSV / JSON)
MAX_NAMED_BARS = 120
# bars get their value printed above them up to this many
MAX_VALUED_BARS = 30


def class_chance_ap(targets: np.ndarray,
                    drop_empty_images: bool = False) -> np.ndarray:
    """Expected AP (%) of random scores for each class of a label set.

    The chance line of the per-class charts: per class, the exact
    expectation of :func:`~granzsl_mm.evaluation.functional.
    expected_random_ap` over the entries the metric ranks (-1 ignored),
    about the class's positive rate.

    Args:
        targets: ``[N, C]`` labels in {1, 0, -1}.
        drop_empty_images: Drop images without a positive first (as the
            metric does with ``drop_empty_images=True``).

    Returns:
        np.ndarray: ``[C]`` chance AP in %, NaN for a class without
        positives.
    """
    from .functional.chance import expected_random_ap
    targets = np.asarray(targets)
    if drop_empty_images:
        targets = targets[(targets == 1).any(axis=1)]
    out = np.full(targets.shape[1], np.nan)
    for c, col in enumerate(targets.T):
        pos, valid = int((col == 1).sum()), int((col >= 0).sum())
        if pos:
            out[c] = 100.0 * expected_random_ap(pos, valid)
    return out


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _title(what: str, method: Optional[str]) -> str:
    return f'{what}: {method}' if method else what


def bars_figure(names, ap: np.ndarray, is_seen: np.ndarray,
                label_set: str, chance: Optional[np.ndarray] = None,
                method: Optional[str] = None):
    """Per-class AP bar chart (a matplotlib figure, not saved).

    Seen and unseen classes are coloured; the legend names only the kinds
    of bars drawn. Class names are rotated 45 degrees at a readable size
    (up to :data:`MAX_NAMED_BARS` classes), values are printed on the bars
    (up to :data:`MAX_VALUED_BARS`), and ``chance`` (per class) is drawn as
    a black tick over each bar.

    Args:
        names: Class names, one per bar.
        ap: ``[C]`` AP in % (NaN: a class without positives, no bar).
        is_seen: ``[C]`` bool.
        label_set: ``'zsl'``, ``'gzsl'``, ... (in the title).
        chance: ``[C]`` chance AP in % (NaN: none), or None.
        method: The method's name (in the title).

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    plt = _pyplot()
    num = len(ap)
    named = num <= MAX_NAMED_BARS
    longest = max((len(str(n)) for n in names), default=1) if named else 0
    width = min(max(6.0, 0.32 * num + 1.5), 60.0)
    # room under the axes for 45-degree names (about 0.07 in a character)
    height = 4.0 + (0.055 * min(longest, 40) if named else 0.0)
    fig, ax = plt.subplots(figsize=(width, height))
    xs = np.arange(num)
    is_seen = np.asarray(is_seen, dtype=bool)
    colours = np.where(is_seen, 'tab:blue', 'tab:orange')
    bars = ax.bar(xs, np.nan_to_num(ap), color=colours, width=0.8)
    if num <= MAX_VALUED_BARS:
        ax.bar_label(bars, labels=['' if np.isnan(v) else f'{v:.1f}'
                                   for v in ap], fontsize=8, padding=2)
    handles = []
    if is_seen.any():
        handles.append(Patch(color='tab:blue', label='seen class'))
    if (~is_seen).any():
        handles.append(Patch(color='tab:orange', label='unseen class'))
    if chance is not None and np.isfinite(chance).any():
        ax.hlines(chance, xs - 0.4, xs + 0.4, colors='black', lw=1.5)
        handles.append(Line2D([], [], color='black', lw=1.5,
                              label='chance (random scores)'))
    if named:
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=45, ha='right',
                           rotation_mode='anchor', fontsize=9)
        ax.set_xlim(-0.6, num - 0.4)
    else:
        ax.set_xlabel(f'{num} classes (names in per_class_ap.csv)')
    top = np.nanmax(np.r_[np.nan_to_num(ap), chance if chance is not None
                          else [], 1.0])
    ax.set_ylim(0, min(100.0, top * 1.12) if top < 90 else 105)
    ax.set_ylabel('AP (%)')
    ax.set_title(_title(f'per-class AP ({label_set})', method))
    # legend outside the axes: it never covers a bar
    ax.legend(handles=handles, loc='upper left', bbox_to_anchor=(1.0, 1.0),
              fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def pr_figure(curves: Dict[str, tuple], method: Optional[str] = None):
    """Mean precision-recall curves of the label sets (a figure).

    Args:
        curves: label set -> ``(recall, mean precision)``.
        method: The method's name (in the title).

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for name, (rec, prec) in curves.items():
        ax.plot(rec, prec, label=name)
    ax.set_xlabel('recall')
    ax.set_ylabel('mean precision over classes')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(_title('mean precision-recall', method), fontsize=10)
    ax.legend(loc='lower left')
    fig.tight_layout()
    return fig


def levels_figure(by_level: Dict[str, dict],
                  level_names: Optional[Sequence[str]] = None,
                  method: Optional[str] = None):
    """Grouped bars: mAP of each granularity level, per label set.

    Args:
        by_level: label set -> ``{str(level): {'mAP', 'num_classes'}}``.
        level_names: Level index -> name (``dataset_meta['level_names']``);
            ``level <k>`` where missing.
        method: The method's name (in the title).

    Returns:
        matplotlib.figure.Figure: The figure.
    """
    plt = _pyplot()
    levels = sorted({int(k) for v in by_level.values() for k in v})
    names = list(by_level)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(levels) + 2.0), 4))
    top = 1.0
    for i, name in enumerate(names):
        vals = [by_level[name].get(str(lv), {}).get('mAP') for lv in levels]
        bars = ax.bar(np.arange(len(levels)) + i * width,
                      [0.0 if v is None else v for v in vals], width,
                      label=name)
        # a level without classes in the label set: said, not a 0 bar
        ax.bar_label(bars, labels=['none' if v is None else f'{v:.1f}'
                                   for v in vals], fontsize=8, padding=2)
        top = max([top] + [v for v in vals if v is not None])
    ax.set_xticks(np.arange(len(levels)) + width * (len(names) - 1) / 2)
    ax.set_xticklabels([
        str(level_names[lv]) if level_names is not None and
        0 <= lv < len(level_names) else f'level {lv}' for lv in levels])
    ax.set_ylim(0, top * 1.15)
    ax.set_ylabel('mAP (%) of non-empty classes')
    ax.set_xlabel('granularity level (coarse to fine)')
    ax.set_title(_title('mAP by level', method), fontsize=10)
    ax.legend(title='label set', loc='upper left',
              bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _save(fig, path: str) -> None:
    plt = _pyplot()
    atomic_savefig(fig, path, dpi=100)
    plt.close(fig)


def write_reports(out_dir: str,
                  per_class: Dict[str, tuple],
                  arrays: Dict[str, tuple],
                  dataset_meta: Optional[dict] = None,
                  prefix: Optional[str] = None,
                  plots: bool = True,
                  method: Optional[str] = None,
                  drop_empty_images: bool = False) -> Dict[str, str]:
    """Write per-class AP (JSON, CSV), AP by level and PNG plots.

    Args:
        out_dir: Output directory (created).
        per_class: label set -> ``(class indices, per-class AP in %)``.
        arrays: label set -> ``(scores, targets, class indices)`` (for the
            precision-recall curves).
        dataset_meta: ``classes``, ``seen_classes``, optional
            ``class_levels`` and ``level_names`` (level index -> name).
        prefix: Optional file name prefix.
        plots: Also write PNG plots.
        method: The method's name, in the plots' titles.
        drop_empty_images: The metric's protocol (the chance line is
            computed on the images it scores).

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
            chance = (class_chance_ap(arrays[name][1], drop_empty_images)
                      if name in arrays else None)
            _save(bars_figure([classes[int(i)] for i in idx], ap,
                              idx < num_seen, name, chance, method), path)
            paths[f'bars_{name}'] = path
        if 'ap_by_level' in report:
            paths['ap_by_level'] = osp.join(out_dir,
                                            f'{stem}ap_by_level.png')
            _save(levels_figure(report['ap_by_level'],
                                meta.get('level_names'), method),
                  paths['ap_by_level'])
        curves = {n: mean_pr_curve(a[0], a[1]) for n, a in arrays.items()}
        paths['pr_curve'] = osp.join(out_dir, f'{stem}pr_curve.png')
        _save(pr_figure(curves, method), paths['pr_curve'])
    return paths
