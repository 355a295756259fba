"""Label and score matrices: our label convention, the papers' signed one,
and the checks every entry point runs on them (the door of label matrices).

Inside granzsl_mm every label (``gt_score``, a metric's targets, a loss's
targets) uses

* ``1``  positive (the class is present),
* ``0``  negative (the class is absent),
* ``-1`` unknown (not annotated; masked by our losses and metrics).

The released files of the zero-shot papers use a *signed* convention instead:
``+1`` positive, ``-1`` negative, ``0`` unknown. It is used by the NUS-WIDE
pickles ``test_seen_labels.pkl`` / ``test_unseen_labels.pkl`` of LESA / BiAM /
GranZSL (the 75 seen-vector slots of tags that are also concepts hold 0), by
BiAM's Open Images files and by the single-positive (SPML) label matrices of
Cole et al. :func:`signed_to_ours` maps signed -> ours (``+1 -> 1``,
``-1 -> 0``, ``0 -> -1``) and :func:`ours_to_signed` is its inverse; the 0/1
"binary" matrices of the official metadata (NUS-WIDE ``AllTags1k.txt`` /
``Labels_*.txt``) are already ours (without unknowns, :func:`binary_to_ours`).

Who converts, who checks:

* a reader of a format whose convention the format fixes converts as the
  format is documented (the dataset readers, with the functions above);
  where nothing fixes it (a prediction dump we did not write) the caller
  states it, ``'ours'`` or ``'signed'`` (:func:`to_ours`);
* the metrics and the losses accept ours only and run
  :func:`check_scores_and_labels`: 2-D matrices of equal shape, finite
  scores, labels 1 / 0 / -1 checked *before* any cast (an int16 257 is
  refused, never wrapped to an int8 1), and unknowns without a single
  negative refused as signed labels (:func:`refuse_signed`, for a whole
  matrix; the streaming metrics call it once over all their chunks, the
  SPML losses not at all: single-positive labels have no negative);
* float32 score files refuse float64 scores that the cast would tie
  (:func:`cast_keeping_ties`).

The values of a signed matrix that has both a -1 and a 0 are also valid in
ours, so such a matrix cannot be told from ours: its convention must be
stated where it is read. NumPy arrays and torch tensors go through the same
code (operators both share; a CUDA tensor is checked in place), large
matrices in row blocks (bounded temporary memory).
"""
from typing import List, Sequence, Tuple

import numpy as np

__all__ = [
    'POSITIVE', 'NEGATIVE', 'UNKNOWN', 'LABEL_CONVENTIONS', 'signed_to_ours',
    'ours_to_signed', 'binary_to_ours', 'check_ours', 'to_ours',
    'labels_as_int8', 'label_kinds', 'refuse_signed', 'check_labels',
    'check_scores', 'check_scores_and_labels', 'cast_keeping_ties',
    'positives_and_unknowns', 'dense_labels'
]

POSITIVE, NEGATIVE, UNKNOWN = 1, 0, -1
# how a label matrix of unknown origin is read (to_ours)
LABEL_CONVENTIONS = ('ours', 'signed')
_OURS = (1, 0, -1)
_WORDS = {(1, 0, -1): '{1, 0, -1} (positive, negative, unknown)',
          (1, -1, 0): '{+1, -1, 0} (signed: positive, negative, unknown)',
          (0, 1): '{0, 1}'}


def _is_tensor(x) -> bool:
    return hasattr(x, 'detach')


def _unsigned(x) -> bool:
    """Unsigned integer or bool dtype (where ``x == -1`` may wrap)."""
    if _is_tensor(x):
        dtype = x.dtype
        return not dtype.is_floating_point and not dtype.is_complex and \
            not dtype.is_signed
    return x.dtype.kind in 'ub'


def _blocks(x):
    """``(first row, block)`` of a matrix in row blocks of about 8 M
    entries (one block for other shapes)."""
    if x.ndim != 2:
        yield 0, x
        return
    step = max(1, (1 << 23) // max(1, int(x.shape[1])))
    for start in range(0, int(x.shape[0]), step):
        yield start, x[start:start + step]


def _where(bad, start: int) -> str:
    """Count of the ``bad`` entries of a block (rows from ``start``) and
    where the first is."""
    flat = int(bad.reshape(-1).nonzero()[0][0])
    index = [int(i) for i in np.unravel_index(flat, tuple(bad.shape))]
    if len(index) == 2:
        place = f'image {index[0] + start}, class {index[1]}'
    elif len(index) == 1:
        place = f'class {index[0]}'
    else:
        place = f'index {tuple(index)}'
    count = int(bad.sum())
    return f'{count} entr{"y" if count == 1 else "ies"}, the first at {place}'


def _check_values(labels, allowed: Tuple[int, ...], what: str) -> None:
    """Refuse values outside ``allowed`` (a subset of {1, 0, -1}), checked
    before any cast: NaN, 0.5 and 257 are named, never rounded or wrapped."""
    for start, block in _blocks(labels):
        if not _is_tensor(block) and block.dtype == np.int8 and \
                block.size and set(allowed) == set(_OURS) and \
                block.min() >= -1 and block.max() <= 1:
            continue  # two reductions, no temporary
        if _unsigned(block):  # x == -1 may wrap (torch uint8: 255 == -1)
            bad = block > max(allowed)
        elif not _is_tensor(block) and block.dtype == np.int8 and \
                set(allowed) == set(_OURS):
            # -1, 0, 1 -> 255 + 1, 0 + 1, 1 + 1 (mod 256): one comparison
            bad = block.view(np.uint8) + np.uint8(1) > 2
        else:
            bad = block != allowed[0]
            for value in allowed[1:]:
                bad = bad & (block != value)
        if bool(bad.any()):
            values = sorted(set(block[bad][:1000].tolist()), key=str)[:5]
            raise ValueError(f'{what}: values must be in {_WORDS[allowed]}; '
                             f'found {values} in {_where(bad, start)}')


def label_kinds(labels) -> Tuple[bool, bool]:
    """Whether a checked label matrix (values in {1, 0, -1}) holds an
    unknown (-1) and whether it holds a negative (0)."""
    if 0 in tuple(labels.shape):
        return False, False
    has_unknown = bool(labels.min() < 0)  # a reduction: no temporary
    return has_unknown, bool((labels == NEGATIVE).any())


def refuse_signed(has_unknown: bool, has_negative: bool,
                  what: str = 'labels') -> None:
    """Refuse labels that look signed: unknowns without any negative.

    Our convention reads the signed -1 (negative) as unknown, so a signed
    matrix without unknowns would score every known label as positive
    (mAP 100) and give a ranking loss no pair. Call it once per whole
    matrix (a chunk may lack negatives).

    Args:
        has_unknown: Whether any label is -1.
        has_negative: Whether any label is 0.
        what: Name of the labels in the message.

    Raises:
        ValueError: On unknowns without any negative.
    """
    if has_unknown and not has_negative:
        raise ValueError(
            f'{what} hold unknowns (-1) but not a single negative (0): these '
            'look like labels in the signed convention (+1 positive, -1 '
            'negative, 0 unknown), which ours (1 / 0 / -1) would read as '
            '"every known label is positive". Convert them with '
            'granzsl_mm.utils.label_matrix.signed_to_ours first.')


def check_labels(labels, what: str = 'labels',
                 signed_check: bool = True) -> Tuple[bool, bool]:
    """Check a label matrix (or vector) in our convention.

    Args:
        labels: Array or tensor; values 1, 0, -1 (any dtype, checked
            before any cast).
        what: Name of the labels in the messages.
        signed_check: Refuse unknowns without any negative
            (:func:`refuse_signed`); off for single-positive labels and for
            chunks of a larger matrix.

    Returns:
        tuple: :func:`label_kinds` of the labels.

    Raises:
        ValueError: A value outside {1, 0, -1}, or signed-looking labels.
    """
    if _is_tensor(labels):
        labels = labels.detach()
    _check_values(labels, _OURS, what)
    kinds = label_kinds(labels)
    if signed_check:
        refuse_signed(*kinds, what=what)
    return kinds


def check_scores(scores, what: str = 'scores') -> None:
    """Refuse scores that are not finite (NaN or inf: a model that
    diverged, or a checkpoint with NaN weights).

    Args:
        scores: Array or tensor.
        what: Name of the scores in the message.

    Raises:
        ValueError: Naming how many entries and where the first is.
    """
    if _is_tensor(scores):
        scores = scores.detach()
    for start, block in _blocks(scores):
        bad = ~(abs(block) < float('inf')) if _is_tensor(block) else \
            ~np.isfinite(block)
        if bool(bad.any()):
            raise ValueError(
                f'{what} are not finite (NaN or inf) at '
                f'{_where(bad, start)}: the model gave no usable '
                'output for them (diverged training, NaN weights?)')


def check_scores_and_labels(scores, labels, what: str = 'scores',
                            signed_check: bool = True) -> Tuple[bool, bool]:
    """The check every metric and loss runs on its inputs.

    Args:
        scores: ``[images, classes]`` array or tensor, finite.
        labels: ``[images, classes]`` in our convention (1, 0, -1).
        what: Name of the scores in the messages (``'probs'``, ...).
        signed_check: See :func:`check_labels`.

    Returns:
        tuple: :func:`label_kinds` of the labels.

    Raises:
        ValueError: Not 2-D, different shapes (rows named: an image without
            labels or labels without an image), non-finite scores, labels
            outside {1, 0, -1}, or signed-looking labels.
    """
    s_shape, l_shape = tuple(scores.shape), tuple(labels.shape)
    if len(s_shape) != 2 or len(l_shape) != 2:
        raise ValueError(f'{what} and labels must be [images, classes] '
                         f'matrices, got shapes {s_shape} and {l_shape}')
    if s_shape[0] != l_shape[0]:
        raise ValueError(f'{s_shape[0]} score rows and {l_shape[0]} label '
                         'rows: every image needs its scores and its labels')
    if s_shape[1] != l_shape[1]:
        raise ValueError(f'{s_shape[1]} score columns and {l_shape[1]} '
                         'label columns: scores and labels must cover the '
                         'same classes')
    check_scores(scores, what)
    return check_labels(labels, signed_check=signed_check)


def labels_as_int8(labels, what: str = 'labels') -> np.ndarray:
    """Labels in our convention as an int8 array, checked before the cast
    (an int16 257 or a uint8 255 is refused, not wrapped to 1 or -1).

    Args:
        labels: Array or tensor in {1, 0, -1}.
        what: Name of the labels in the message.

    Returns:
        np.ndarray: int8, same shape.
    """
    if _is_tensor(labels):
        labels = labels.detach().cpu().numpy()
    labels = np.asarray(labels)
    _check_values(labels, _OURS, what)
    return labels.astype(np.int8, copy=False)


def to_ours(labels, convention: str, what: str = 'labels') -> np.ndarray:
    """Read labels whose convention the caller states.

    Args:
        labels: Array or tensor.
        convention: ``'ours'`` (1 / 0 / -1) or ``'signed'`` (+1 / -1 / 0).
        what: Name of the labels in the messages.

    Returns:
        np.ndarray: int8 labels in our convention.
    """
    if convention not in LABEL_CONVENTIONS:
        raise ValueError(f'label convention must be one of '
                         f'{LABEL_CONVENTIONS}, got {convention!r}')
    if convention == 'signed':
        if _is_tensor(labels):
            labels = labels.detach().cpu().numpy()
        return signed_to_ours(labels, what)
    return labels_as_int8(labels, what)


def cast_keeping_ties(scores: np.ndarray, dtype=np.float32,
                      what: str = 'scores', advice: str = '') -> np.ndarray:
    """``scores`` cast to ``dtype``, refused when the cast makes two
    different scores of a row or of a column equal.

    Tied scores rank differently (AP counts a tie against the positive, top
    K breaks it by class index), so a narrowing cast must not create ties
    (float64 scores 1e-9 apart are all 0.5 in float32). Checked within the
    matrix given: a caller casting in chunks checks each chunk.

    Args:
        scores: ``[rows, classes]`` finite scores.
        dtype: The narrower dtype.
        what: Name of the scores in the message.
        advice: What to do instead, appended to the message.

    Returns:
        np.ndarray: The scores as ``dtype``.

    Raises:
        ValueError: If the cast created ties.
    """
    low = scores.astype(dtype, copy=False)
    if low is scores or np.array_equal(low, scores):
        return low
    lost: List[int] = []
    for axis in (0, 1):
        distinct = [int(np.count_nonzero(np.diff(np.sort(a, axis=axis),
                                                 axis=axis)))
                    for a in (scores, low)]
        lost.append(distinct[0] - distinct[1])
    if any(lost):
        raise ValueError(
            f'{what}: {scores.dtype} scores that differ only beyond '
            f'{np.dtype(dtype).name} precision would tie once stored as '
            f'{np.dtype(dtype).name} ({lost[0]} new ties within classes, '
            f'{lost[1]} within images), which changes AP and top-K. '
            + advice)
    return low


def signed_to_ours(labels, what: str = 'signed labels') -> np.ndarray:
    """Map the papers' signed labels to ours.

    Args:
        labels (array-like): Values in {+1 positive, -1 negative, 0 unknown}.
        what: Name of the labels in the message.

    Returns:
        np.ndarray: int8 array of the same shape in {1, 0, -1}.
    """
    labels = np.asarray(labels)
    _check_values(labels, (1, -1, 0), what)
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
    """Check that labels use our convention (values only: no signed check,
    see :func:`check_labels`).

    Args:
        labels (array-like): Candidate labels.

    Returns:
        np.ndarray: The labels as int8.
    """
    return labels_as_int8(np.asarray(labels))


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


def dense_labels(num_classes: int, positives: Sequence[int],
                 unknowns: Sequence[int] = ()) -> np.ndarray:
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
