"""Exact multi-label ranking metrics (mAP, top-K P/R/F1) for ZSL/GZSL.

NumPy (plus a torch reduction for block maxima); tensors are accepted; no
mmengine import.

Protocol (the one of the reference ZSL code bases):

* per-class non-interpolated AP over the entries whose label is not -1:
  ``AP = sum(precision at each positive) / #positives``;
* top-K micro: each image's K highest scores are the predicted positives,
  ``P = TP / (N*K)``, ``R = TP / #GT positives``, ``F1 = 2PR / (P+R)``;
* per-image (SPML protocol): ``img_P@K = mean_i TP_i / K`` over all images,
  ``img_R@K = mean_i TP_i / #pos_i`` over images with at least one positive.

Tie rules (``ties``), both deterministic:

* ``'pessimistic'`` (default; sklearn's ``average_precision_score`` rule,
  independent of the input order): a positive's precision counts every
  valid entry whose score is greater than **or equal to** its own as ranked
  above it (so a positive tied with a negative gets the lower precision).
* ``'stable'``: entries are ranked by a stable descending sort, ties in
  input (image) order - what the references' ``prediction.sort(
  descending=True)`` gives in practice on CPU (RCNn's ``compute_AP`` on
  scores ``[.5, .5, .5, .2]``, labels ``[1, -1, 1, -1]``: 0.8333 = stable;
  pessimistic gives 0.6667). The references score fp16 outputs (autocast),
  where ties are frequent.
* top-K (both rules): among equal scores at the K-th place, lower class
  indices win (= input order). ``torch.topk`` on CPU does not promise this:
  on ``[.5, .9, .5, .5, .9, .1, .5]`` it returns ``[1, 4, 0]`` for K=3 (the
  same) but ``[1, 4, 6, 0, 3]`` for K=5 (ours: ``[1, 4, 0, 2, 3]``).

Inputs (:func:`validate_scores_targets`, through the door of label matrices
:mod:`granzsl_mm.utils.label_matrix`): labels in our convention only, 1
positive, 0 negative, -1 unknown (convert the papers' signed +1 / -1 / 0
with ``signed_to_ours`` first); finite scores; as many score as label rows.
Refused: a label outside {1, 0, -1} (checked before any cast), unknowns
without a single negative (signed labels), NaN / inf scores, ``topk``
values below 1.

Score precision: scores are ranked in the precision they come in. float64
stays float64 and float32 float32; float16 / bfloat16 are widened to float32
and integers to float64 (both exact); nothing is narrowed, so scores that
differ only beyond float32 precision never become ties. The streaming
metrics keep float32 score files and refuse float64 scores that the cast
would tie (``cast_keeping_ties``).
"""
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch

from granzsl_mm.utils.label_matrix import check_scores_and_labels

__all__ = ['per_class_ap', 'topk_hits', 'multilabel_zsl_metrics',
           'validate_scores_targets', 'check_topk', 'to_numpy', 'TIE_RULES']

TIE_RULES = ('pessimistic', 'stable')

ArrayLike = Union[np.ndarray, 'torch.Tensor']  # noqa: F821


def to_numpy(x: ArrayLike) -> np.ndarray:
    """Convert a tensor / array-like to a NumPy array without copying
    (half precision to float32)."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu()
        if str(x.dtype) in ('torch.float16', 'torch.bfloat16'):
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def validate_scores_targets(scores: ArrayLike,
                            targets: ArrayLike,
                            signed_check: bool = True) -> tuple:
    """Check and convert scores ``[N, C]`` and targets ``[N, C]``.

    The checks are :func:`~granzsl_mm.utils.label_matrix.
    check_scores_and_labels` (the door of label matrices).

    Args:
        scores: Finite prediction scores.
        targets: Labels in our convention: 1 positive, 0 negative, -1
            unknown.
        signed_check: Refuse unknowns without a single negative (signed
            labels); off for a chunk of a larger matrix, whose caller checks
            the whole (:func:`~granzsl_mm.utils.label_matrix.refuse_signed`).

    Returns:
        tuple: ``(scores, targets)`` as float32/float64 (in the precision
        given, never narrowed) and int8 arrays.

    Raises:
        ValueError: On wrong dimensions, different row or column counts,
            non-finite scores, labels outside {1, 0, -1} or signed labels.
    """
    scores = to_numpy(scores)
    targets = to_numpy(targets)
    check_scores_and_labels(scores, targets, signed_check=signed_check)
    if scores.dtype not in (np.float32, np.float64):
        scores = scores.astype(np.float64)
    return scores, targets.astype(np.int8, copy=False)


def check_topk(topk: Sequence[int]) -> tuple:
    """The K values of P / R / F1@K as a tuple of ints, each at least 1.

    Raises:
        ValueError: A K below 1 or not a whole number.
    """
    ks = tuple(topk)
    if not all(isinstance(k, (int, np.integer)) or (
            isinstance(k, float) and k.is_integer()) for k in ks) or any(
                k < 1 for k in ks):
        raise ValueError(f'topk must hold whole numbers >= 1 (the K of '
                         f'P/R/F1@K: each image\'s K best classes), got '
                         f'{ks}')
    return tuple(int(k) for k in ks)


def _chunk_ap_stable(scores: np.ndarray, targets: np.ndarray, start: int,
                     stop: int) -> np.ndarray:
    """AP of the classes ``start:stop``, ties ranked in input order."""
    ap = np.full(stop - start, np.nan, dtype=np.float64)
    for j in range(start, stop):
        tgt = targets[:, j]
        valid = tgt >= 0
        hits = tgt[valid] == 1
        if not hits.any():
            continue
        order = np.argsort(-scores[valid, j], kind='stable')
        hits = hits[order]
        precision = np.cumsum(hits) / np.arange(1, hits.size + 1)
        ap[j - start] = float(precision[hits].sum()) / int(hits.sum())
    return ap


def _chunk_ap(scores: np.ndarray, targets: np.ndarray, start: int,
              stop: int) -> np.ndarray:
    """AP of the classes ``start:stop`` (NaN where no valid positive)."""
    # [c, N], always a copy (sorted in place below; a transposed slice of
    # an F-ordered input would otherwise be a view of the caller's array)
    block = np.array(scores[:, start:stop].T, order='C', copy=True)
    tgt = np.ascontiguousarray(targets[:, start:stop].T)
    num_rows, n_total = block.shape
    positives = [np.sort(block[j][tgt[j] == 1]) for j in range(num_rows)]
    unknown = tgt < 0
    if unknown.any():
        block[unknown] = -np.inf  # never >= a finite score
    block.sort(axis=1)  # in place: no second copy
    ap = np.full(num_rows, np.nan, dtype=np.float64)
    for j, pos in enumerate(positives):
        if pos.size == 0:
            continue
        # valid entries >= each positive, and positives >= it (ties count
        # as ranked above: the pessimistic rule)
        n_ge = n_total - np.searchsorted(block[j], pos, 'left')
        pos_ge = pos.size - np.searchsorted(pos, pos, 'left')
        ap[j] = float(np.sum(pos_ge / n_ge)) / pos.size
    return ap


def per_class_ap(scores: ArrayLike,
                 targets: ArrayLike,
                 chunk_size: int = 32,
                 validate: bool = True,
                 num_threads: Optional[int] = None,
                 ties: str = 'pessimistic') -> np.ndarray:
    """Per-class non-interpolated average precision.

    For a positive with score ``s`` the precision is ``#{valid positives >=
    s} / #{valid >= s}``: one value sort per class (no argsort, no gather,
    no cumulative sums over the ranking) and a binary search per positive.
    Classes are processed in chunks of ``chunk_size`` columns to bound
    memory; chunks run on ``num_threads`` threads (NumPy's sort
    releases the GIL).

    Args:
        scores: ``[N, C]`` finite scores.
        targets: ``[N, C]`` labels in {1, 0, -1}; -1 entries are ignored.
        chunk_size: Number of classes sorted together.
        validate: Check the inputs (disable only for already-checked data).
        num_threads: Worker threads; defaults to ``min(4, os.cpu_count())``.
            The result does not depend on it.
        ties: ``'pessimistic'`` (above) or ``'stable'`` (a stable
            descending sort per class: ties in input order).

    Returns:
        np.ndarray: ``[C]`` float64 AP in [0, 1]; NaN for a class without
        valid positives.
    """
    if ties not in TIE_RULES:
        raise ValueError(f'ties must be one of {TIE_RULES}, got {ties!r}')
    if validate:
        scores, targets = validate_scores_targets(scores, targets)
    num_classes = scores.shape[1]
    starts = list(range(0, num_classes, chunk_size))
    if num_threads is None:
        num_threads = min(4, os.cpu_count() or 1)
    args = [(scores, targets, a, min(a + chunk_size, num_classes))
            for a in starts]
    chunk_fn = _chunk_ap if ties == 'pessimistic' else _chunk_ap_stable
    if num_threads > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=num_threads) as pool:
            parts = list(pool.map(lambda a: chunk_fn(*a), args))
    else:
        parts = [chunk_fn(*a) for a in args]
    if not parts:
        return np.full(0, np.nan, dtype=np.float64)
    return np.concatenate(parts)


# Columns per block of the top-K pre-selection (:func:`_top_columns`).
TOPK_BLOCK = 32


def _rank_candidates(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                     num: int, kmax: int) -> np.ndarray:
    """Each row's ``kmax`` best candidates by (score descending, column
    ascending); the candidates come grouped by ascending row and hold at
    least ``kmax`` per row."""
    counts = np.bincount(rows, minlength=num)
    offset = np.arange(rows.size) - (np.cumsum(counts) - counts)[rows]
    vals = np.full((num, int(counts.max())), -np.inf, dtype=values.dtype)
    idx = np.full(vals.shape, np.iinfo(np.int64).max, dtype=np.int64)
    vals[rows, offset] = values
    idx[rows, offset] = cols
    # columns ascending, then a stable sort by score descending: equal
    # scores keep ascending columns (the -inf padding sorts last)
    by_col = np.argsort(idx, axis=1)
    vals = np.take_along_axis(vals, by_col, axis=1)
    idx = np.take_along_axis(idx, by_col, axis=1)
    order = np.argsort(-vals, axis=1, kind='stable')[:, :kmax]
    return np.take_along_axis(idx, order, axis=1)


def _block_candidates(s: np.ndarray, kmax: int) -> Optional[tuple]:
    """Candidates of the top ``kmax`` of wide rows, read block-wise, or
    None when ties make them too many.

    The columns are cut into blocks of :data:`TOPK_BLOCK` columns each,
    block ``b`` holding columns ``b, b + nb, b + 2 nb, ...`` (``nb`` blocks:
    their maxima are one NumPy reduction over contiguous rows). The K-th
    largest block maximum ``tau`` is a lower bound of the K-th largest
    score (K blocks each hold a score >= tau), so every top-K score is
    >= tau and lies in a block whose maximum is >= tau: only those blocks
    (about K of them on untied scores) are read again. The columns beyond
    ``nb * TOPK_BLOCK`` form one more block.
    """
    num, num_classes = s.shape
    nb = num_classes // TOPK_BLOCK
    width = nb * TOPK_BLOCK
    blocks = s[:, :width].reshape(num, TOPK_BLOCK, nb)
    bmax = blocks.max(axis=1)
    tail = None
    if width < num_classes:  # the last, partial block padded with -inf
        tail = np.full((num, TOPK_BLOCK), -np.inf, dtype=s.dtype)
        tail[:, :num_classes - width] = s[:, width:]
        bmax = np.concatenate([bmax, tail.max(axis=1, keepdims=True)], 1)
    tau = -np.partition(-bmax, kmax - 1, axis=1)[:, kmax - 1:kmax]
    rows, bidx = np.nonzero(bmax >= tau)  # row-major: blocks ascending
    if rows.size > 4 * kmax * num:  # heavily tied rows
        return None
    cand = blocks[rows, :, np.minimum(bidx, nb - 1)]  # [found, TOPK_BLOCK]
    last = np.flatnonzero(bidx == nb)
    if last.size:
        cand[last] = tail[rows[last]]
    flat = np.flatnonzero(cand >= tau[rows])
    ci, cj = flat // TOPK_BLOCK, flat % TOPK_BLOCK
    cols = np.where(bidx[ci] == nb, width + cj, bidx[ci] + nb * cj)
    return rows[ci], cols, cand.reshape(-1)[flat]


def _top_columns(s: np.ndarray, kmax: int) -> np.ndarray:
    """Each row's ``kmax`` highest-scored columns, ordered by (score
    descending, column ascending): ties at the K-th place go to the lower
    class index.

    Exact on any scores. The scores at or above a lower bound of each
    row's K-th largest are the candidates, ranked by
    :func:`_rank_candidates`: the bound is the K-th largest block maximum
    on wide rows (:func:`_block_candidates`), else the K-th largest score
    itself (``np.partition``). ``torch.topk`` is not used: on a CPU its
    cost per row is about 13 us whatever the width (3 ms for 512 x 400),
    and it breaks ties arbitrarily.

    Args:
        s: ``[n, C]`` finite scores, ``1 <= kmax <= C``.
        kmax: K.

    Returns:
        np.ndarray: ``[n, kmax]`` int64 column indices.
    """
    num, num_classes = s.shape
    found = None
    if num_classes // TOPK_BLOCK >= 4 * kmax and s.flags.c_contiguous:
        found = _block_candidates(s, kmax)
    if found is None:
        tau = -np.partition(-s, kmax - 1, axis=1)[:, kmax - 1:kmax]
        flat = np.flatnonzero(s >= tau)
        rows, cols = flat // num_classes, flat % num_classes
        found = rows, cols, s[rows, cols]
    return _rank_candidates(*found, num, kmax)


def topk_hits(scores: np.ndarray, positives: np.ndarray,
              ks: Sequence[int], chunk_size: int = 8192) -> np.ndarray:
    """Number of positives among each image's top-K scored classes.

    One selection for the largest K serves all K: the top ``max(ks)``
    classes are found and ordered by (score descending, class index
    ascending), so ties at the K-th score are broken by lower class index.

    Args:
        scores: ``[N, C]`` scores.
        positives: ``[N, C]`` boolean ground-truth positives.
        ks: The K values, each at least 1 (clipped to C).
        chunk_size: Images processed at once.

    Returns:
        np.ndarray: ``[len(ks), N]`` int64 hit counts.
    """
    num, num_classes = scores.shape
    ks = [min(k, num_classes) for k in check_topk(ks)]
    hits = np.zeros((len(ks), num), dtype=np.int64)
    kmax = max(ks, default=0)
    if kmax <= 0 or num == 0:
        return hits
    for start in range(0, num, chunk_size):
        s = scores[start:start + chunk_size]
        p = positives[start:start + chunk_size]
        cols = _top_columns(s, kmax)
        cum = np.cumsum(np.take_along_axis(p, cols, axis=1), axis=1)
        for i, k in enumerate(ks):
            if k > 0:
                hits[i, start:start + chunk_size] = cum[:, k - 1]
    return hits


def multilabel_zsl_metrics(scores: ArrayLike,
                           targets: ArrayLike,
                           topk: Sequence[int] = (3, 5),
                           empty_class: str = 'zero',
                           drop_empty_images: bool = False,
                           return_per_class: bool = False,
                           ties: str = 'pessimistic') -> Dict:
    """mAP and top-K precision / recall / F1 (micro and per image), in %.

    Args:
        scores: ``[N, C]`` finite scores of one label set, ranked in the
            precision given (module docstring).
        targets: ``[N, C]`` labels in our convention only: 1 positive, 0
            negative, -1 unknown (signed labels are refused).
        topk: The K values, each at least 1.
        empty_class: ``'zero'``: a class without positives has AP 0 and
            counts in the mean (reference protocol); ``'skip'``: excluded.
        drop_empty_images: Drop images without any positive in this label
            set before computing anything (GranZSL protocol).
        return_per_class: Also return ``'per_class_AP'`` (``[C]`` in %, NaN
            for empty classes).
        ties: AP tie rule, ``'pessimistic'`` or ``'stable'`` (module
            docstring); top-K is the same under both.

    Returns:
        dict: ``mAP``, ``P@K``, ``R@K``, ``F1@K``, ``img_P@K``, ``img_R@K``,
        ``num_images``, ``num_classes``, ``num_empty_classes``.
    """
    if empty_class not in ('zero', 'skip'):
        raise ValueError(f"empty_class must be 'zero' or 'skip', got "
                         f'{empty_class!r}')
    topk = check_topk(topk)
    scores, targets = validate_scores_targets(scores, targets)
    positives = targets == 1
    if drop_empty_images:
        keep = positives.any(axis=1)
        scores, targets, positives = scores[keep], targets[keep], \
            positives[keep]
    ap = per_class_ap(scores, targets, validate=False, ties=ties)
    empty = np.isnan(ap)
    if empty_class == 'zero':
        mean_ap = float(np.nan_to_num(ap, nan=0.0).mean()) if ap.size else 0.0
    else:
        mean_ap = float(ap[~empty].mean()) if (~empty).any() else 0.0
    num = scores.shape[0]
    n_pos_img = positives.sum(axis=1)
    n_gt = int(n_pos_img.sum())
    out = {'mAP': 100.0 * mean_ap}
    all_hits = topk_hits(scores, positives, topk)
    for k, hits in zip(topk, all_hits):
        tp = int(hits.sum())
        prec = tp / (num * k) if num else 0.0
        rec = tp / n_gt if n_gt else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
        out[f'P@{k}'] = 100.0 * prec
        out[f'R@{k}'] = 100.0 * rec
        out[f'F1@{k}'] = 100.0 * f1
        out[f'img_P@{k}'] = 100.0 * float(hits.mean() / k) if num else 0.0
        has = n_pos_img > 0
        out[f'img_R@{k}'] = 100.0 * float(
            (hits[has] / n_pos_img[has]).mean()) if has.any() else 0.0
    out['num_images'] = num
    out['num_classes'] = int(scores.shape[1])
    out['num_empty_classes'] = int(empty.sum())
    if return_per_class:
        out['per_class_AP'] = 100.0 * ap
    return out
