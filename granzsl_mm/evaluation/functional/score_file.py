"""The score file of a streaming metric, assembled from the ranks' rows.

``scores.npy`` (float32) and ``targets.npy`` (int8) hold one row per
dataset sample, at its ``sample_idx``; ``np.load(path, mmap_mode='r')``
opens them memory-mapped. Ranks see the samples as mmengine's
``DefaultSampler`` deals them: local sample ``k`` of rank ``r`` sits at
global position ``r + k * world_size``, and positions ``>= size`` are the
sampler's padding (the rule of ``collect_results``), dropped
(:func:`real_rows`).

The assembly: rank 0 makes the folder (every rank must see it: a shared
file system across nodes) and creates the files
(:func:`create_score_files`), or, when one process holds every row in
dataset order, promotes its spill file in place (:func:`promote_in_order`);
every rank writes its rows (:func:`write_rank_rows`); rank 0 checks that
each index came exactly once (:func:`check_rows_once`) and reads class
columns from the transpose, written on first use (:func:`column_reader`).
The exchanges between ranks stay with the caller; NumPy only.

Each run's files carry an identity, :data:`IDENTITY` (``score_files.json``:
a run id, rows, classes, whether every row is written and whether the
transposes are made). Rank 0 clears what an earlier run left in the folder
— another checkpoint's kept files, or a run killed before its clean-up —
and records the new run before any row is written
(:func:`begin_score_files`); the files are marked complete once every row
came once (:func:`finish_score_files`), and the transposes are read only
when the identity says this run made them. So a reused ``score_dir`` never
gives an earlier run's numbers, and files of a killed run are never read
as complete. A reader of kept files checks ``complete`` in the identity.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
import uuid
from typing import Callable, List, Optional, Tuple

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_write_text

from .npy_files import (
    create_npy,
    read_npy_rows,
    transpose_npy,
    write_npy_rows,
)
from .spill_file import SpillFile

__all__ = ['SCORE_FILES', 'IDENTITY', 'ScoreFolderError', 'real_rows',
           'make_score_folder', 'begin_score_files', 'create_score_files',
           'promote_in_order', 'write_rank_rows', 'check_rows_once',
           'finish_score_files', 'check_score_files', 'column_reader',
           'remove_score_files']

# the score file, then its class-major transpose (made for column AP)
SCORE_FILES = ('scores.npy', 'targets.npy', 'scores_T.npy', 'targets_T.npy')
# which run wrote the files, and how far it got
IDENTITY = 'score_files.json'


class ScoreFolderError(ValueError):
    """A ``score_dir`` whose files are not this run's (another run wrote
    into the folder meanwhile) or not complete."""


def real_rows(num_local: int, rank: int, world_size: int,
              size: int) -> np.ndarray:
    """Which of a rank's samples are real (not the sampler's padding).

    Args:
        num_local (int): Samples the rank processed.
        rank (int): Its rank.
        world_size (int): Number of ranks.
        size (int): Length of the dataset.

    Returns:
        np.ndarray: ``[num_local]`` bool mask.
    """
    return rank + world_size * np.arange(num_local) < size


def make_score_folder(score_dir: Optional[str]) -> str:
    """``score_dir`` (created if missing), or a new temporary folder."""
    folder = score_dir or tempfile.mkdtemp(prefix='granzsl_scorefile_')
    os.makedirs(folder, exist_ok=True)
    return folder


def _write_identity(folder: str, identity: dict) -> None:
    atomic_write_text(json.dumps(identity, indent=1),
                      osp.join(folder, IDENTITY))


def begin_score_files(folder: str, size: int, num_classes: int) -> str:
    """Clear what an earlier run left in ``folder`` and record a new run.

    Removes the score files, their transposes and the identity of any
    earlier run (kept files of another checkpoint, or a run killed before
    its clean-up: never read again), then writes this run's identity, not
    yet complete. Rank 0 calls it before any row is written.

    Args:
        folder (str): The score file's folder.
        size (int): Rows (dataset length).
        num_classes (int): Columns.

    Returns:
        str: The new run id.
    """
    remove_score_files(folder, remove_folder=False)
    run_id = uuid.uuid4().hex
    _write_identity(folder, dict(run_id=run_id, rows=int(size),
                                 classes=int(num_classes), complete=False,
                                 transposed=False))
    return run_id


def check_score_files(folder: str, run_id: str,
                      complete: bool = True) -> dict:
    """The identity of ``folder``'s files, checked to be run ``run_id``'s.

    Args:
        folder (str): The score file's folder.
        run_id (str): :func:`begin_score_files` of this run.
        complete (bool): Also require every row written.

    Returns:
        dict: The identity.

    Raises:
        ScoreFolderError: The identity is missing, another run's, or (with
            ``complete``) not complete.
    """
    path = osp.join(folder, IDENTITY)
    try:
        with open(path, encoding='utf-8') as f:
            identity = json.load(f)
    except (OSError, ValueError):
        identity = {}
    if not isinstance(identity, dict):
        identity = {}
    if identity.get('run_id') != run_id:
        raise ScoreFolderError(
            f'score_dir {folder}: its score files are not this run\'s '
            f'({IDENTITY} names run {identity.get("run_id")}, this run is '
            f'{run_id}): another run wrote into the folder meanwhile; give '
            'each run its own score_dir')
    if complete and not identity.get('complete'):
        raise ScoreFolderError(f'score_dir {folder}: the score files of '
                               f'run {run_id} are not complete')
    return identity


def finish_score_files(folder: str, run_id: str) -> None:
    """Mark run ``run_id``'s files complete (after :func:`check_rows_once`).

    Args:
        folder (str): The score file's folder.
        run_id (str): :func:`begin_score_files` of this run.
    """
    identity = check_score_files(folder, run_id, complete=False)
    identity['complete'] = True
    _write_identity(folder, identity)


def create_score_files(folder: str, size: int, num_classes: int) -> None:
    """Create empty (sparse) ``scores.npy`` / ``targets.npy`` in
    ``folder``, ``[size, num_classes]`` each."""
    create_npy(osp.join(folder, SCORE_FILES[0]), (size, num_classes),
               np.float32)
    create_npy(osp.join(folder, SCORE_FILES[1]), (size, num_classes),
               np.int8)


def promote_in_order(spill: SpillFile, folder: str, sample_idx: np.ndarray,
                     size: int) -> bool:
    """Make the spill file of the only process the score file in place,
    if its rows are the dataset in order.

    Args:
        spill (SpillFile): The process' rows (spilled).
        folder (str): The score file's folder.
        sample_idx (np.ndarray): Dataset index of each local row.
        size (int): Length of the dataset.

    Returns:
        bool: Whether it applied (else create and write the files).
    """
    if sample_idx.size != size or not np.array_equal(sample_idx,
                                                     np.arange(size)):
        return False
    return spill.promote(folder)


def write_rank_rows(spill: SpillFile, folder: str, sample_idx: np.ndarray,
                    real: np.ndarray) -> np.ndarray:
    """Write a rank's real rows (from its spill file) at their dataset
    index.

    Args:
        spill (SpillFile): The rank's rows (spilled).
        folder (str): The score file's folder (files created).
        sample_idx (np.ndarray): Dataset index of each local row.
        real (np.ndarray): :func:`real_rows` of the rank.

    Returns:
        np.ndarray: The dataset indices written.
    """
    if spill.folder is None or not real.any():
        return sample_idx[:0]
    paths = [osp.join(folder, name) for name in SCORE_FILES[:2]]
    for a, scores, targets in spill.blocks():
        m = real[a:a + len(scores)]
        rows = sample_idx[a:a + len(scores)][m]
        write_npy_rows(paths[0], rows, scores[m])
        write_npy_rows(paths[1], rows, targets[m])
    return sample_idx[real]


def check_rows_once(written: List[np.ndarray], size: int,
                    owner: str) -> None:
    """Refuse a score file whose rows did not come exactly once each.

    Args:
        written (list[np.ndarray]): Dataset indices written by each rank.
        size (int): Length of the dataset.
        owner (str): Name of the caller, for the message.

    Raises:
        ValueError: If an index is missing, repeated or out of range.
    """
    hits = np.bincount(np.concatenate(written), minlength=size)
    if hits.size != size or (hits != 1).any():
        bad = np.flatnonzero(hits != 1)[:5].tolist()
        raise ValueError(
            f'{owner}: rows {bad} written {hits[bad].tolist()} times; every '
            f'index of the {size} samples must come exactly once (a sampler '
            "other than mmengine's DefaultSampler?)")


def column_reader(
        folder: str,
        run_id: str) -> Callable[[int, int], Tuple[np.ndarray, np.ndarray]]:
    """A reader of class columns ``start:stop`` as ``[classes, images]``
    scores and labels of run ``run_id``'s complete score files; the
    transpose is written on its first call (then recorded in the identity:
    a transpose cut short by a kill is never taken as made)."""
    paths = [osp.join(folder, name) for name in SCORE_FILES]
    made = []

    def read_cols(start: int, stop: int) -> Tuple[np.ndarray, np.ndarray]:
        if not made:
            identity = check_score_files(folder, run_id)
            if not identity.get('transposed'):
                transpose_npy(paths[0], paths[2])
                transpose_npy(paths[1], paths[3])
                identity['transposed'] = True
                _write_identity(folder, identity)
            made.append(True)
        return (read_npy_rows(paths[2], start, stop),
                read_npy_rows(paths[3], start, stop))

    return read_cols


def remove_score_files(folder: str, remove_folder: bool) -> None:
    """Remove the score files and their identity (and the folder, when it
    was temporary)."""
    for name in SCORE_FILES + (IDENTITY, ):
        path = osp.join(folder, name)
        if osp.exists(path):
            os.remove(path)
    if remove_folder:
        shutil.rmtree(folder, ignore_errors=True)
