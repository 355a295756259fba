"""The label store of Zhou et al.'s asymmetric pseudo-labelling (EM + APL).

Zhou et al. ("Acknowledging the Unknown for Multi-label Learning with Single
Positive Labels", ECCV 2022; reference code ``Correr-Zhou/SPML-AckTheUnknown``)
keep one value per training entry: 1 for the observed positive, 0 for an
unlabelled entry and ``-s`` once the entry has received the soft negative
label ``s`` (the model's sigmoid score when it was chosen). At the end of
every epoch whose 1-based number is at least ``warmup_epoch`` they score the
training set and, per class, give the ``n_c`` lowest-scored entries that are
still unlabelled (stored value exactly 0, so a soft label of 0.0 counts as
unlabelled) their score as soft label, with

``n_c = int(neg_proportion * U_c / (num_epochs - warmup_epoch))``

and ``U_c`` the number of unlabelled entries of class ``c`` counted once,
before training.

Ours keeps the soft labels in our convention: a ``[N, C]`` float32 array of
soft targets, NaN where an entry has none (the ``soft_targets`` field of the
data samples, see ``docs/spml.md``); observed labels stay in ``gt_score``.
``-0.0`` in their store is a soft target of ``0.0`` here: still unlabelled,
and the loss falls back to the entropy term. The array lives in a ``.npy``
file opened as a memory map, so every dataloader worker (forked or spawned)
and every process reads the current values: :class:`APLLabelStore`.

The functions here import NumPy only.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

__all__ = ['apl_counts', 'apl_candidates', 'asymmetric_pseudo_label_step',
           'to_zhou_store', 'from_zhou_store', 'APLLabelStore']


def apl_counts(unlabel_num: Sequence[int], neg_proportion: float,
               num_epochs: int, warmup_epoch: int) -> np.ndarray:
    """Soft negatives given per class at each APL step.

    Args:
        unlabel_num (Sequence[int]): ``U_c``: unlabelled entries of each
            class before training.
        neg_proportion (float): Share of ``U_c`` labelled over the
            ``num_epochs - warmup_epoch`` steps (0.9 in the reference).
        num_epochs (int): Training epochs.
        warmup_epoch (int): First (1-based) epoch after which APL runs.

    Returns:
        np.ndarray: int64 ``[C]``, ``int(neg_proportion * U_c / (num_epochs -
        warmup_epoch))`` (truncated, as the reference).
    """
    if num_epochs <= warmup_epoch:
        raise ValueError(f'num_epochs ({num_epochs}) must exceed warmup_epoch '
                         f'({warmup_epoch}): the reference divides by their '
                         'difference')
    if not 0 <= neg_proportion <= 1:
        raise ValueError(f'neg_proportion must be in [0, 1], got '
                         f'{neg_proportion}')
    span = num_epochs - warmup_epoch
    return np.asarray([int(neg_proportion * int(u) / span)
                       for u in unlabel_num], dtype=np.int64)


def apl_candidates(unknown: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Entries still unlabelled: unknown, and no soft label or exactly 0.

    Args:
        unknown (np.ndarray): ``[N, C]`` bool, True where the observed label
            is unknown.
        soft (np.ndarray): ``[N, C]`` soft targets, NaN = none.

    Returns:
        np.ndarray: ``[N, C]`` bool.
    """
    soft = np.asarray(soft)
    return np.asarray(unknown, dtype=bool) & (np.isnan(soft) | (soft == 0))


def asymmetric_pseudo_label_step(soft: np.ndarray, unknown: np.ndarray,
                                 preds: np.ndarray,
                                 counts: Sequence[int]) -> np.ndarray:
    """One APL step, in place: per class, the ``counts[c]`` lowest-scored
    still-unlabelled entries get their score as soft target.

    Ties are broken by the entry index (a stable sort); the reference sorts
    in its shuffled loader order with NumPy's default (unstable) sort, so on
    exactly tied scores the chosen entries may differ.

    Args:
        soft (np.ndarray): ``[N, C]`` float soft targets (NaN = none),
            updated in place.
        unknown (np.ndarray): ``[N, C]`` bool, the observed unknowns.
        preds (np.ndarray): ``[N, C]`` sigmoid scores of this step.
        counts (Sequence[int]): Entries to label per class
            (:func:`apl_counts`).

    Returns:
        np.ndarray: ``[N, C]`` bool, the entries labelled by this step.
    """
    preds = np.asarray(preds)
    if preds.shape != soft.shape or np.shape(unknown) != soft.shape:
        raise ValueError(f'soft {soft.shape}, unknown {np.shape(unknown)} and '
                         f'preds {preds.shape} must have one shape')
    if len(counts) != soft.shape[1]:
        raise ValueError(f'{len(counts)} counts for {soft.shape[1]} classes')
    candidates = apl_candidates(unknown, soft)
    if np.isnan(preds[candidates]).any():
        raise ValueError('an unlabelled entry has no score (NaN)')
    chosen = np.zeros(soft.shape, dtype=bool)
    for c, num in enumerate(counts):
        rows = np.flatnonzero(candidates[:, c])
        order = np.argsort(preds[rows, c], kind='stable')[:int(num)]
        chosen[rows[order], c] = True
    soft[chosen] = preds[chosen]
    return chosen


def to_zhou_store(positive: np.ndarray, soft: np.ndarray) -> np.ndarray:
    """Our observed positives and soft targets as the reference's store.

    Args:
        positive (np.ndarray): ``[N, C]`` bool, observed positives.
        soft (np.ndarray): ``[N, C]`` soft targets, NaN = none.

    Returns:
        np.ndarray: float64 ``[N, C]``: 1, 0 (unlabelled) or ``-s`` (a soft
        target ``0.0`` gives ``-0.0``, as theirs).
    """
    soft = np.asarray(soft, dtype=np.float64)
    store = np.where(np.isnan(soft), 0.0, -soft)
    store[np.asarray(positive, dtype=bool)] = 1.0
    return store


def from_zhou_store(store: np.ndarray):
    """The reference's store as our targets and soft targets.

    Args:
        store (np.ndarray): ``[N, C]``: 1 observed positive, 0 unlabelled,
            ``< 0`` (or ``-0.0``) a soft negative label.

    Returns:
        tuple[np.ndarray, np.ndarray]: float32 targets in {1, -1} and
        float32 soft targets (``-store`` where the store is negative or
        ``-0.0``, NaN elsewhere).
    """
    store = np.asarray(store, dtype=np.float64)
    if ((store > 0) & (store != 1)).any():
        raise ValueError('a positive store value other than 1')
    targets = np.where(store == 1, 1.0, -1.0).astype(np.float32)
    is_soft = (store < 0) | ((store == 0) & np.signbit(store))
    soft = np.where(is_soft, -store, np.nan).astype(np.float32)
    return targets, soft


class APLLabelStore:
    """File-backed ``[N, C]`` float32 soft targets (NaN = none).

    The file is a ``.npy`` array read through a memory map: a dataset that
    holds the store serves ``row(i)`` and, whether the dataloader workers
    were forked or spawned (the store pickles as its path), sees the values
    the training process wrote last. Writes happen between epochs
    (:class:`~granzsl_mm.engine.hooks.AsymmetricPseudoLabelHook`), when no
    worker reads.

    Args:
        path (str): The ``.npy`` file (made by :meth:`create`).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._array: Optional[np.ndarray] = None

    @classmethod
    def create(cls, path: str, num: int, num_classes: int,
               values: Optional[np.ndarray] = None) -> 'APLLabelStore':
        """Write a new store file (all NaN, or ``values``).

        Args:
            path (str): Output ``.npy`` path (folders are created).
            num (int): Number of training items ``N``.
            num_classes (int): Number of classes ``C``.
            values (np.ndarray, optional): Initial ``[N, C]`` soft targets.

        Returns:
            APLLabelStore: The store.
        """
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        arr = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32,
                                        shape=(num, num_classes))
        if values is None:
            arr[:] = np.nan
        else:
            values = np.asarray(values, dtype=np.float32)
            if values.shape != (num, num_classes):
                raise ValueError(f'values {values.shape} is not '
                                 f'{(num, num_classes)}')
            arr[:] = values
        arr.flush()
        del arr
        return cls(path)

    def _view(self) -> np.ndarray:
        if self._array is None:
            if not osp.isfile(self.path):
                raise FileNotFoundError(f'APL label store not found: '
                                        f'{self.path}')
            self._array = np.load(self.path, mmap_mode='r')
        return self._array

    @property
    def shape(self):
        """``(N, C)``."""
        return self._view().shape

    def row(self, idx: int) -> np.ndarray:
        """Soft targets of item ``idx`` (a float32 copy)."""
        return np.array(self._view()[idx], dtype=np.float32)

    def read(self) -> np.ndarray:
        """All soft targets (a float32 copy)."""
        return np.array(self._view(), dtype=np.float32)

    def write(self, values: np.ndarray) -> None:
        """Replace all soft targets (flushed to the file).

        Args:
            values (np.ndarray): ``[N, C]`` soft targets, NaN = none.
        """
        values = np.asarray(values, dtype=np.float32)
        arr = np.load(self.path, mmap_mode='r+')
        if values.shape != arr.shape:
            raise ValueError(f'values {values.shape} differ from the store '
                             f'{arr.shape}')
        arr[:] = values
        arr.flush()
        del arr

    def __getstate__(self) -> dict:
        return dict(path=self.path)  # workers reopen the file

    def __setstate__(self, state: dict) -> None:
        self.path = state['path']
        self._array = None

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.path!r})'
