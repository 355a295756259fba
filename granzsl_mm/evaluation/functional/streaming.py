"""Chunked ZSL / GZSL metrics over score files larger than memory.

The same numbers as :func:`multilabel_zsl_metrics` (same AP, tie and top-K
rules: the chunks call the same kernels), computed from two readers:

* ``read_rows(start, stop)`` -> ``(scores, targets)`` of images
  ``start:stop`` (all classes): top-K, image filter, P/R/F1, per row chunk;
* ``read_cols(start, stop)`` -> ``(scores, targets)`` of classes
  ``start:stop`` as ``[classes, images]``: per-class AP, per column chunk.

Sparse labels (Open Images: ~9 known labels per image among 7,586 classes,
99.9 % unknown): AP only looks at the known entries (an unknown is never
ranked), so the row pass also collects the known ``(class, score, label)``
triplets; while they stay under ``sparse_limit`` entries, AP is computed
from them class by class (a column chunk of the sparse matrix) and
``read_cols`` is never called (it may then be ``None``). Denser labels fall
back to the column reader. Both give the same AP, bit for bit.

Memory: one chunk plus the sparse triplets. The score files on disk are
:mod:`.score_file` (``.npy`` helpers: :mod:`.npy_files`). NumPy and torch
only.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from granzsl_mm.utils.label_matrix import label_kinds, refuse_signed

from .multilabel_ap import (
    check_topk,
    per_class_ap,
    topk_hits,
    validate_scores_targets,
)

__all__ = ['stream_zsl_metrics', 'stream_label_sets', 'sparse_class_ap',
           'LabelSetAccumulator', 'row_stats']

Reader = Callable[[int, int], Tuple[np.ndarray, np.ndarray]]


def sparse_class_ap(cols: np.ndarray, scores: np.ndarray,
                    labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class AP from the known entries only (pessimistic ties).

    The rule of :func:`per_class_ap`: a positive with score ``s`` has
    precision ``#{positives >= s} / #{known >= s}``, here counted within
    each class's known entries (sorted once by class and score).

    Args:
        cols (np.ndarray): ``[M]`` class index (0-based in the label set)
            of each known entry.
        scores (np.ndarray): ``[M]`` its score.
        labels (np.ndarray): ``[M]`` its label, 1 or 0.
        num_classes (int): Number of classes.

    Returns:
        np.ndarray: ``[num_classes]`` float64 AP; NaN without a positive.
    """
    order = _class_score_order(cols, scores)
    cols, scores, labels = cols[order], scores[order], labels[order]
    bounds = np.searchsorted(cols, np.arange(num_classes + 1))
    ap = np.full(num_classes, np.nan, dtype=np.float64)
    for j in np.flatnonzero(np.diff(bounds)):
        a, b = bounds[j], bounds[j + 1]
        seg = scores[a:b]
        pos = seg[labels[a:b] == 1]  # ascending, as seg
        if pos.size == 0:
            continue
        n_ge = seg.size - np.searchsorted(seg, pos, 'left')
        pos_ge = pos.size - np.searchsorted(pos, pos, 'left')
        ap[j] = float(np.sum(pos_ge / n_ge)) / pos.size
    return ap


def _class_score_order(cols: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``np.lexsort((scores, cols))``; for float32 scores one stable sort of
    a 64-bit key (class, then the score's bits mapped to an unsigned order),
    the same permutation in about half the time."""
    if scores.dtype != np.float32 or cols.size == 0 or cols.min() < 0:
        return np.lexsort((scores, cols))
    bits = (scores + np.float32(0.0)).view(np.uint32)  # -0.0 -> 0.0
    bits = np.where(bits >> 31, ~bits, bits | np.uint32(1 << 31))
    key = (cols.astype(np.uint64) << np.uint64(32)) | bits.astype(np.uint64)
    return np.argsort(key, kind='stable')


class LabelSetAccumulator:
    """Running sums of one label set (columns ``c0:c1``) of
    :func:`stream_label_sets`: fed row chunks (:meth:`add_rows`) or
    per-image counts computed elsewhere (:meth:`add_counts`, e.g. by a
    metric while the batches arrive); :meth:`result` gives the metrics.

    Args:
        columns: ``(c0, c1)`` class range.
        num_rows: Number of images (rows indexed ``0..num_rows-1``).
        ks: The K values.
        drop_empty_images: Drop images without a positive in the set.
        sparse_limit: Most known entries kept for the sparse AP path
            (``0``: AP from the column reader).
    """

    def __init__(self, columns: Tuple[int, int], num_rows: int, ks: list,
                 drop_empty_images: bool, sparse_limit: int) -> None:
        self.c0, self.c1 = columns
        self.ks, self.drop = list(ks), drop_empty_images
        self.keep = np.ones(num_rows, dtype=bool)
        self.tp = np.zeros(len(ks), np.int64)
        self.img_p, self.img_r = np.zeros(len(ks)), np.zeros(len(ks))
        self.n_gt = self.n_has = self.n_sparse = 0
        self.limit = sparse_limit
        self.sparse: Optional[list] = [] if sparse_limit > 0 else None

    def add_rows(self, r0: int, s: np.ndarray, t: np.ndarray) -> None:
        """Accumulate the rows ``r0:r0 + len(s)`` (checked, all classes)."""
        s, t = s[:, self.c0:self.c1], t[:, self.c0:self.c1]
        n_pos, hits = row_stats(s, t, self.ks)
        known = None
        if self.sparse is not None:
            # flat indices: a 2-D np.nonzero is ~10x slower
            rr, cc = np.divmod(np.flatnonzero(t >= 0), max(1, t.shape[1]))
            known = (rr + r0, cc + self.c0, s[rr, cc], t[rr, cc])
        self.add_counts(r0, n_pos, hits, known)

    def add_counts(self, r0: int, n_pos: np.ndarray, hits: np.ndarray,
                   known: Optional[tuple] = None) -> None:
        """Accumulate precomputed counts of the rows ``r0:r0 + len(n_pos)``.

        Args:
            r0: First row.
            n_pos: ``[n]`` positives per image in the set.
            hits: ``[len(ks), n]`` positives among each image's top K
                (:func:`row_stats`).
            known: ``(rows, cols, scores, labels)`` of known entries (rows
                and classes absolute; other classes are ignored), needed
                while the sparse AP path is on.
        """
        n = len(n_pos)
        kept = n_pos > 0 if self.drop else np.ones(n, dtype=bool)
        self.keep[r0:r0 + n] = kept
        if self.sparse is not None:
            if known is None:
                raise ValueError('known entries are needed for sparse AP')
            rows, cols, sc, lb = known
            m = (cols >= self.c0) & (cols < self.c1) & self.keep[rows]
            self.n_sparse += int(m.sum())
            if self.n_sparse > self.limit:
                self.sparse = None  # too dense: the column reader does AP
            else:
                self.sparse.append(((cols[m] - self.c0).astype(np.int32),
                                    sc[m], lb[m]))
        hits, n_pos = hits[:, kept], n_pos[kept]
        has = n_pos > 0
        self.n_gt += int(n_pos.sum())
        self.n_has += int(has.sum())
        self.tp += hits.sum(axis=1)
        for i, k in enumerate(self.ks):
            self.img_p[i] += float((hits[i] / k).sum())
            self.img_r[i] += float((hits[i][has] / n_pos[has]).sum())

    def result(self, read_cols: Optional[Reader], empty_class: str,
               chunk_cols: int, return_per_class: bool) -> Dict:
        c0, c1, ks = self.c0, self.c1, self.ks
        num = int(self.keep.sum())
        if self.sparse is not None:
            parts = list(zip(*self.sparse)) if self.sparse else [
                [np.zeros(0, np.int32)], [np.zeros(0, np.float32)],
                [np.zeros(0, np.int8)]]
            ap = sparse_class_ap(*(np.concatenate(p) for p in parts),
                                 c1 - c0)
        elif read_cols is None:
            raise ValueError(f'{self.n_sparse} known labels exceed '
                             f'sparse_limit={self.limit} and no column '
                             'reader was given')
        else:
            ap = _column_ap(read_cols, (c0, c1),
                            self.keep if self.drop else None, chunk_cols)
        empty = np.isnan(ap)
        if empty_class == 'zero':
            mean_ap = float(np.nan_to_num(ap, nan=0.0).mean()) \
                if ap.size else 0.0
        else:
            mean_ap = float(ap[~empty].mean()) if (~empty).any() else 0.0
        out = {'mAP': 100.0 * mean_ap}
        for i, k in enumerate(ks):
            prec = int(self.tp[i]) / (num * k) if num else 0.0
            rec = int(self.tp[i]) / self.n_gt if self.n_gt else 0.0
            out[f'P@{k}'] = 100.0 * prec
            out[f'R@{k}'] = 100.0 * rec
            out[f'F1@{k}'] = (100.0 * 2 * prec * rec / (prec + rec)
                              if prec + rec > 0 else 0.0)
            out[f'img_P@{k}'] = 100.0 * self.img_p[i] / num if num else 0.0
            out[f'img_R@{k}'] = (100.0 * self.img_r[i] / self.n_has
                                 if self.n_has else 0.0)
        out['num_images'] = num
        out['num_classes'] = c1 - c0
        out['num_empty_classes'] = int(empty.sum())
        out['ap_path'] = 'sparse' if self.sparse is not None else 'columns'
        if return_per_class:
            out['per_class_AP'] = 100.0 * ap
        return out


def stream_label_sets(read_rows: Reader, read_cols: Optional[Reader],
                      num_rows: int,
                      label_sets: Dict[str, Tuple[int, int]],
                      topk: Sequence[int] = (3, 5),
                      empty_class: str = 'zero',
                      drop_empty_images: bool = False,
                      chunk_rows: int = 4096, chunk_cols: int = 64,
                      return_per_class: bool = False,
                      sparse_limit: int = 1 << 26) -> Dict[str, Dict]:
    """:func:`multilabel_zsl_metrics` of several label sets in one row pass.

    Each row chunk is read (and checked) once for all the label sets: the
    checks of :func:`multilabel_zsl_metrics` (labels in our convention,
    finite scores, ``topk`` >= 1); the signed-label check runs over all the
    chunks together.

    Args:
        read_rows: Row reader (see the module docstring).
        read_cols: Column reader (class-major); only called for a label
            set whose known labels exceed ``sparse_limit`` (may be ``None``
            if none does).
        num_rows: Number of images.
        label_sets: Name -> ``(start, stop)`` class range.
        topk: The K values.
        empty_class: ``'zero'`` or ``'skip'``.
        drop_empty_images: Drop images without a positive in the set.
        chunk_rows: Images per row chunk.
        chunk_cols: Classes per column chunk.
        return_per_class: Also return ``'per_class_AP'``.
        sparse_limit: Most known entries of a set kept for the sparse AP
            path (10 bytes each; default 2**26). ``0``: always use
            ``read_cols``.

    Returns:
        dict: Name -> the keys of :func:`multilabel_zsl_metrics`, and
        ``'ap_path'``: ``'sparse'`` or ``'columns'``.

    Raises:
        ValueError: On a bad ``empty_class`` or ``topk``, bad scores or
            labels (:func:`validate_scores_targets`), or dense labels without
            ``read_cols``.
    """
    if empty_class not in ('zero', 'skip'):
        raise ValueError(f"empty_class must be 'zero' or 'skip', got "
                         f'{empty_class!r}')
    topk = check_topk(topk)
    passes = {name: LabelSetAccumulator(cols, num_rows, list(topk),
                                        drop_empty_images, sparse_limit)
              for name, cols in label_sets.items()}
    if not passes:
        return {}
    hi = max(c1 for _, c1 in label_sets.values())
    has_unknown = has_negative = False
    for r0 in range(0, num_rows, chunk_rows):
        s, t = read_rows(r0, min(r0 + chunk_rows, num_rows))
        s, t = validate_scores_targets(s[:, :hi], t[:, :hi],
                                       signed_check=False)
        unknown, negative = label_kinds(t)
        has_unknown, has_negative = has_unknown or unknown, \
            has_negative or negative
        for one in passes.values():
            one.add_rows(r0, s, t)
    refuse_signed(has_unknown, has_negative)
    return {name: one.result(read_cols, empty_class, chunk_cols,
                             return_per_class)
            for name, one in passes.items()}


def stream_zsl_metrics(read_rows: Reader, read_cols: Optional[Reader],
                       num_rows: int,
                       columns: Tuple[int, int],
                       topk: Sequence[int] = (3, 5),
                       empty_class: str = 'zero',
                       drop_empty_images: bool = False,
                       chunk_rows: int = 4096, chunk_cols: int = 64,
                       return_per_class: bool = False,
                       sparse_limit: int = 1 << 26) -> Dict:
    """:func:`multilabel_zsl_metrics` of the classes ``columns`` in chunks
    (:func:`stream_label_sets` with one set; same arguments).

    Returns:
        dict: The keys of :func:`multilabel_zsl_metrics`, and
        ``'ap_path'``: ``'sparse'`` or ``'columns'``.
    """
    return stream_label_sets(
        read_rows, read_cols, num_rows, {'set': columns}, topk=topk,
        empty_class=empty_class, drop_empty_images=drop_empty_images,
        chunk_rows=chunk_rows, chunk_cols=chunk_cols,
        return_per_class=return_per_class, sparse_limit=sparse_limit)['set']


def row_stats(scores: np.ndarray, targets: np.ndarray,
              ks: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Positives per image and positives among its top K, for each K.

    Args:
        scores: ``[n, C]`` scores of one label set.
        targets: ``[n, C]`` labels in {1, 0, -1}.
        ks: The K values.

    Returns:
        tuple: ``n_pos [n]`` and ``hits [len(ks), n]`` (int64).
    """
    pos = targets == 1  # counted from flat indices: 2x pos.sum(1) if sparse
    n_pos = np.bincount(np.flatnonzero(pos) // max(1, pos.shape[1]),
                        minlength=pos.shape[0])
    return n_pos, topk_hits(scores, pos, ks)


def _column_ap(read_cols: Reader, columns: Tuple[int, int],
               keep: Optional[np.ndarray], chunk_cols: int) -> np.ndarray:
    """Per-class AP from the class-major reader, ``chunk_cols`` at a time."""
    c0, c1 = columns
    ap = np.full(c1 - c0, np.nan)
    for a in range(c0, c1, chunk_cols):
        b = min(a + chunk_cols, c1)
        s, t = read_cols(a, b)
        if keep is not None:
            s, t = s[:, keep], t[:, keep]
        # a class chunk may lack negatives: the row pass checked the whole
        s, t = validate_scores_targets(s.T, t.T, signed_check=False)
        ap[a - c0:b - c0] = per_class_ap(s, t, validate=False, num_threads=1)
    return ap
