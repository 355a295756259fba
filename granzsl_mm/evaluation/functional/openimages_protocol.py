"""The Open Images v4 ZSL / GZSL protocol of BiAM's ``evaluate_openimages.py``.

NumPy (top-K through :func:`topk_hits`); labels are ours
(1 positive, 0 verified negative, -1 unknown = BiAM's +1 / -1 / 0).

Choices, each named after the line of akshitac8/BiAM@4e391f1 that makes it:

1. **Image filter** (lines 162-164, 230-232, 284-286): per setting, only the
   images with at least one positive among that setting's columns are kept,
   for AP and for F1 (``drop_empty_images``).
2. **Class mask** (lines 167-171, 289-297): seen and GZSL score only the
   classes with at least one annotated (positive or negative) label among
   the kept images; ZSL scores all 400 (line 239). A scored class without a
   positive has AP 0 and counts in the mean (``class_mask``).
3. **AP** (``util_openimages.compute_AP``, lines 73-93): ``ap='biam_pooled'``
   reproduces it. Because ``predictions[(labels != 0)[:, c]]`` selects
   *rows*, the "AP of class c" ranks every annotated entry (all columns) of
   the images in which c is annotated: a pooled, micro-like AP, not a
   per-class AP (:func:`biam_pooled_ap`). ``ap='per_class'`` (default) is the
   true per-class non-interpolated AP over the annotated entries of each
   column (as LESA's sklearn AP; ours ranks ties pessimistically, BiAM's
   ``torch.sort`` leaves them to chance). Both are reported with the
   weighted mean ``sum(#pos_c * AP_c) / sum(#pos_c)`` (lines 180, 244, 303).
4. **F1@K** (``compute_F1(..., 'overall', k)``, lines 95-107): micro over
   the kept images, each image's top K columns predicted positive; unknown
   and negative entries in the top K are false positives; ``P = TP / (N*K)``,
   ``R = TP / #positives``. Seen uses the masked columns (lines 189-215),
   GZSL all 7,586 (lines 312-337), ZSL all 400 (``f1_columns``). The paper
   reports K = 10 and 20. Ties at the K-th place: lower class index wins.

:data:`BIAM_SETTINGS` holds the three settings' options.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from .multilabel_ap import topk_hits, validate_scores_targets
from .streaming import sparse_class_ap

__all__ = ['biam_pooled_ap', 'biam_pooled_ap_sparse', 'openimages_metrics',
           'openimages_metrics_from_known', 'scored_classes',
           'check_openimages_options', 'BIAM_SETTINGS', 'AP_MODES']

AP_MODES = ('per_class', 'biam_pooled')
BIAM_SETTINGS = {
    'seen': dict(class_mask='annotated', f1_columns='masked'),
    'gzsl': dict(class_mask='annotated', f1_columns='all'),
    'zsl': dict(class_mask='none', f1_columns='all'),
}



def _known(targets: np.ndarray) -> tuple:
    """``(rows, cols)`` of the known labels, row-major as ``np.nonzero``
    gives them (from flat indices: a 2-D ``np.nonzero`` is ~10x slower)."""
    return np.divmod(np.flatnonzero(targets != -1),
                     max(1, targets.shape[1]))

def _ap_of_entries(values: np.ndarray, is_pos: np.ndarray) -> float:
    """Non-interpolated AP of a pool of scored entries (ties pessimistic)."""
    pos = np.sort(values[is_pos])
    if pos.size == 0:
        return 0.0
    ranked = np.sort(values)
    n_ge = ranked.size - np.searchsorted(ranked, pos, 'left')
    pos_ge = pos.size - np.searchsorted(pos, pos, 'left')
    return float(np.sum(pos_ge / n_ge)) / pos.size


def biam_pooled_ap_sparse(rows: np.ndarray, cols: np.ndarray,
                          values: np.ndarray, labels: np.ndarray,
                          num_classes: int) -> np.ndarray:
    """BiAM's ``compute_AP`` from the annotated entries only.

    For class ``c``: the images ``R_c`` where ``c`` is annotated; the pool is
    every annotated entry (any column) of those images; AP of the pool, 0 if
    it holds no positive. The cost is ``sum_c |R_c| * entries per image``,
    independent of the number of unannotated entries.

    Args:
        rows: ``[E]`` image index of each annotated entry.
        cols: ``[E]`` class index of each entry.
        values: ``[E]`` scores.
        labels: ``[E]`` labels, 1 or 0 (unknown entries are left out).
        num_classes: Number of classes ``C``.

    Returns:
        np.ndarray: ``[C]`` float64 AP in [0, 1].
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    values = np.asarray(values)
    is_pos = np.asarray(labels) == 1
    ap = np.zeros(num_classes, dtype=np.float64)
    if rows.size == 0:
        return ap
    by_row = np.argsort(rows, kind='stable')
    rows, cols = rows[by_row], cols[by_row]
    values, is_pos = values[by_row], is_pos[by_row]
    num_rows = int(rows[-1]) + 1
    indptr = np.zeros(num_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_rows), out=indptr[1:])
    by_col = np.argsort(cols, kind='stable')
    col_ptr = np.zeros(num_classes + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=num_classes), out=col_ptr[1:])
    for c in range(num_classes):
        img = rows[by_col[col_ptr[c]:col_ptr[c + 1]]]
        if img.size == 0:
            continue
        starts, lens = indptr[img], indptr[img + 1] - indptr[img]
        total = int(lens.sum())
        idx = (np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
               + np.repeat(starts, lens))
        ap[c] = _ap_of_entries(values[idx], is_pos[idx])
    return ap


def biam_pooled_ap(scores, targets) -> np.ndarray:
    """BiAM's ``compute_AP`` on dense ``[N, C]`` scores and our labels.

    Args:
        scores: ``[N, C]`` finite scores.
        targets: ``[N, C]`` labels in {1, 0, -1}.

    Returns:
        np.ndarray: ``[C]`` float64 pooled AP (see the module docstring).
    """
    scores, targets = validate_scores_targets(scores, targets)
    rows, cols = _known(targets)
    return biam_pooled_ap_sparse(rows, cols, scores[rows, cols],
                                 targets[rows, cols], scores.shape[1])


def check_openimages_options(setting: Optional[str], ap: str, class_mask: str,
                   f1_columns: str) -> tuple:
    """Resolve ``setting`` into ``(class_mask, f1_columns)``; check all."""
    if setting is not None:
        if setting not in BIAM_SETTINGS:
            raise ValueError(f'setting must be one of {list(BIAM_SETTINGS)}, '
                             f'got {setting!r}')
        class_mask = BIAM_SETTINGS[setting]['class_mask']
        f1_columns = BIAM_SETTINGS[setting]['f1_columns']
    for name, value, allowed in (('ap', ap, AP_MODES),
                                 ('class_mask', class_mask,
                                  ('annotated', 'none')),
                                 ('f1_columns', f1_columns,
                                  ('all', 'masked'))):
        if value not in allowed:
            raise ValueError(f'{name} must be one of {allowed}, got '
                             f'{value!r}')
    return class_mask, f1_columns


def scored_classes(cols: np.ndarray, num_classes: int,
                   class_mask: str) -> np.ndarray:
    """Classes a setting scores: with an annotated entry among the kept
    images (``cols`` of those entries), or all (``class_mask='none'``)."""
    if class_mask == 'none':
        return np.ones(num_classes, dtype=bool)
    return np.bincount(cols, minlength=num_classes)[:num_classes] > 0


def openimages_metrics_from_known(rows, cols, values, labels, n_pos, hits,
                                  num_classes: int,
                                  topk: Sequence[int] = (10, 20),
                                  ap: str = 'per_class',
                                  class_mask: str = 'annotated',
                                  num_f1_columns: Optional[int] = None,
                                  drop_empty_images: bool = True) -> Dict:
    """:func:`openimages_metrics` from the known labels and per-image counts.

    What a streaming evaluation keeps: the annotated entries, each image's
    positives and the positives among its top K (over the F1 columns).
    Images without a positive are dropped here (BiAM's filter) unless
    ``drop_empty_images=False``.

    Args:
        rows, cols, values, labels: ``[E]`` image, class (0-based in the
            setting), score and label (1 / 0) of every annotated entry.
        n_pos: ``[N]`` positives of each image in the setting.
        hits: ``[len(topk), N]`` positives among each image's top K.
        num_classes: Classes of the setting.
        topk: The K values (as ``hits``).
        ap: ``'per_class'`` or ``'biam_pooled'``.
        class_mask: ``'annotated'`` or ``'none'``.
        num_f1_columns: Columns the top K was taken from (default all).
        drop_empty_images: Keep only images with a positive (BiAM).

    Returns:
        dict: The keys of :func:`openimages_metrics`.
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    values, labels = np.asarray(values), np.asarray(labels)
    n_pos, hits = np.asarray(n_pos), np.asarray(hits)
    keep = n_pos > 0 if drop_empty_images else np.ones(n_pos.size, bool)
    kept = keep[rows]
    rows, cols, values, labels = rows[kept], cols[kept], values[kept], \
        labels[kept]
    scored = scored_classes(cols, num_classes, class_mask)
    if ap == 'biam_pooled':
        all_ap = biam_pooled_ap_sparse(rows, cols, values, labels,
                                       num_classes)
    else:
        all_ap = np.nan_to_num(sparse_class_ap(cols, values, labels,
                                               num_classes), nan=0.0)
    cls_ap = all_ap[scored]
    n_pos_c = np.bincount(cols[labels == 1],
                          minlength=num_classes)[:num_classes][scored]
    out = {'mAP': 100.0 * float(cls_ap.mean()) if cls_ap.size else 0.0,
           'weighted_mAP': 100.0 * float((n_pos_c * cls_ap).sum()
                                         / n_pos_c.sum())
           if n_pos_c.sum() else 0.0}
    num = int(keep.sum())
    n_gt = int(n_pos[keep].sum())
    width = num_classes if num_f1_columns is None else num_f1_columns
    for k, k_hits in zip(topk, hits):
        tp = int(k_hits[keep].sum())
        prec = tp / (num * min(k, width)) if num else 0.0
        rec = tp / n_gt if n_gt else 0.0
        out[f'P@{k}'] = 100.0 * prec
        out[f'R@{k}'] = 100.0 * rec
        out[f'F1@{k}'] = (100.0 * 2 * prec * rec / (prec + rec)
                          if prec + rec > 0 else 0.0)
    per_class = np.full(num_classes, np.nan)
    per_class[scored] = 100.0 * cls_ap
    out.update(num_images=num, num_classes=int(scored.sum()),
               per_class_AP=per_class, ap=ap)
    return out


def openimages_metrics(scores, targets, topk: Sequence[int] = (10, 20),
                       setting: Optional[str] = None,
                       ap: str = 'per_class',
                       class_mask: str = 'annotated',
                       f1_columns: str = 'all',
                       drop_empty_images: bool = True) -> Dict:
    """mAP, weighted mAP and micro F1@K of one setting, in %.

    Args:
        scores: ``[N, C]`` scores of the setting's columns.
        targets: ``[N, C]`` labels in {1, 0, -1}.
        topk: The K values.
        setting: ``'seen'``, ``'zsl'`` or ``'gzsl'``: take ``class_mask`` and
            ``f1_columns`` from :data:`BIAM_SETTINGS` (overrides them).
        ap: ``'per_class'`` or ``'biam_pooled'`` (see the module docstring).
        class_mask: ``'annotated'`` (score only classes with an annotated
            label among the kept images) or ``'none'``.
        f1_columns: ``'all'`` or ``'masked'`` (top-K among scored classes).
        drop_empty_images: Keep only images with a positive (BiAM).

    Returns:
        dict: ``mAP``, ``weighted_mAP``, ``P@K``, ``R@K``, ``F1@K``,
        ``num_images``, ``num_classes`` (scored), ``per_class_AP`` (``[C]``
        in %, NaN for classes not scored), ``ap`` (the mode).
    """
    class_mask, f1_columns = check_openimages_options(setting, ap,
                                                      class_mask, f1_columns)
    scores, targets = validate_scores_targets(scores, targets)
    positives = targets == 1
    n_pos = positives.sum(axis=1)
    rows, cols = _known(targets)
    f1_scores, f1_pos = scores, positives
    if f1_columns == 'masked':
        keep = n_pos > 0 if drop_empty_images else np.ones(n_pos.size, bool)
        scored = scored_classes(cols[keep[rows]], scores.shape[1],
                                class_mask)
        f1_scores, f1_pos = scores[:, scored], positives[:, scored]
    hits = topk_hits(f1_scores, f1_pos, topk)
    out = openimages_metrics_from_known(
        rows, cols, scores[rows, cols], targets[rows, cols], n_pos, hits,
        scores.shape[1], topk, ap, class_mask, f1_scores.shape[1],
        drop_empty_images)
    return out
