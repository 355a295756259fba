"""Label conventions: the papers' signed vectors to the plugin's 1 / 0 / -1.

Inside granzsl_mm every label vector (``gt_score``) uses

* ``1``  positive (the class is present),
* ``0``  negative (the class is absent),
* ``-1`` unknown (not annotated; masked by our losses and metrics).

The released files of the zero-shot papers use a *signed* convention instead:
``+1`` positive, ``-1`` negative, ``0`` unknown. It is used by the NUS-WIDE
pickles ``test_seen_labels.pkl`` / ``test_unseen_labels.pkl`` of LESA / BiAM /
GranZSL (the 75 seen-vector slots of tags that are also concepts hold 0) and
by the single-positive (SPML) label matrices of Cole et al. ``signed_to_ours``
maps signed -> ours (``+1 -> 1``, ``-1 -> 0``, ``0 -> -1``) and ``ours_to_signed``
is its inverse; the 0/1 "binary" matrices of the official metadata (NUS-WIDE
``AllTags1k.txt`` / ``Labels_*.txt``) are already ours (without unknowns).
"""
from typing import List, Tuple

import numpy as np

__all__ = [
    'POSITIVE', 'NEGATIVE', 'UNKNOWN', 'signed_to_ours', 'ours_to_signed',
    'binary_to_ours', 'check_ours', 'positives_and_unknowns', 'dense_labels'
]

POSITIVE, NEGATIVE, UNKNOWN = 1, 0, -1


def _check_values(labels: np.ndarray, allowed: Tuple[int, ...],
                  what: str) -> None:
    """Values must be integers in ``allowed`` (a contiguous range): checked
    with min / max (no per-value set lookup: fast on 100k x 1000)."""
    if labels.size == 0:
        return
    lo, hi = min(allowed), max(allowed)
    ok = labels.min() >= lo and labels.max() <= hi
    if ok and labels.dtype.kind == 'f':
        ok = bool(np.all(labels == np.rint(labels)))
    if not ok:
        bad = ~np.isin(labels, allowed)
        values = np.unique(labels[bad])[:10].tolist()
        raise ValueError(f'{what}: values must be in {allowed}, found '
                         f'{values}')


def signed_to_ours(labels) -> np.ndarray:
    """Map the papers' signed labels to ours.

    Args:
        labels (array-like): Values in {+1 positive, -1 negative, 0 unknown}.

    Returns:
        np.ndarray: int8 array of the same shape in {1, 0, -1}.
    """
    labels = np.asarray(labels)
    _check_values(labels, (1, -1, 0), 'signed labels')
    out = np.full(labels.shape, UNKNOWN, dtype=np.int8)
    out[labels == 1] = POSITIVE
    out[labels == -1] = NEGATIVE
    return out


def ours_to_signed(labels) -> np.ndarray:
    """Inverse of :func:`signed_to_ours`.

    Args:
        labels (array-like): Values in {1, 0, -1} (ours).

    Returns:
        np.ndarray: int8 array in {+1, -1, 0} (the papers' convention).
    """
    labels = check_ours(labels)
    out = np.zeros(labels.shape, dtype=np.int8)
    out[labels == POSITIVE] = 1
    out[labels == NEGATIVE] = -1
    return out


def binary_to_ours(labels) -> np.ndarray:
    """Check a 0/1 matrix (official metadata) and return it as ours (int8).

    Args:
        labels (array-like): Values in {0, 1}.

    Returns:
        np.ndarray: int8 array in {1, 0} (no unknowns).
    """
    labels = np.asarray(labels)
    _check_values(labels, (0, 1), 'binary labels')
    return labels.astype(np.int8)


def check_ours(labels) -> np.ndarray:
    """Check that labels use our convention.

    Args:
        labels (array-like): Candidate labels.

    Returns:
        np.ndarray: The labels as int8.
    """
    labels = np.asarray(labels)
    _check_values(labels, (1, 0, -1), 'labels')
    return labels.astype(np.int8)


def positives_and_unknowns(labels) -> Tuple[List[int], List[int]]:
    """The compact form of one label vector (ours).

    Args:
        labels (array-like): One vector in {1, 0, -1}.

    Returns:
        tuple[list[int], list[int]]: Indices of positives and of unknowns.
    """
    labels = np.asarray(labels)
    return (np.flatnonzero(labels == POSITIVE).tolist(),
            np.flatnonzero(labels == UNKNOWN).tolist())


def dense_labels(num_classes: int, positives, unknowns=()) -> np.ndarray:
    """Build one ``gt_score`` vector from its compact form.

    Args:
        num_classes (int): Vector length.
        positives (Sequence[int]): Positive class indices.
        unknowns (Sequence[int]): Unknown class indices.

    Returns:
        np.ndarray: float32 vector in {1, 0, -1}.
    """
    vec = np.zeros(num_classes, dtype=np.float32)
    vec[np.asarray(unknowns, dtype=np.int64)] = UNKNOWN
    vec[np.asarray(positives, dtype=np.int64)] = POSITIVE
    return vec
