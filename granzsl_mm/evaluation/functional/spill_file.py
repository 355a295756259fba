"""One rank's rows of a streaming metric: sparse in memory, spilled to an
append file once they outgrow it.

AP looks at known labels only (Open Images: ~9 known among 7,586 classes),
so while a rank's known labels ``(row, class, score, label)`` stay under
``sparse_limit`` nothing else is kept. Past the limit the rank *spills*:
the rows so far are rebuilt from their known labels (the unknown entries,
which no metric reads, as score 0 / label -1) and written to two raw files
of its own (``scores.bin`` float32, ``targets.bin`` int8, in a private
temporary folder), and every later chunk is appended as it comes.

Each file starts with :data:`HEAD` reserved bytes: when one process holds
every row in dataset order, the head takes the ``.npy`` header
(:func:`~.npy_files.npy_header`) and the files become the score files in
place (:meth:`SpillFile.promote`), with no second write of the scores.
NumPy only.
"""
import os.path as osp
import shutil
import tempfile
from typing import Iterator, Optional, Tuple

import numpy as np

from .npy_files import npy_header

__all__ = ['SpillFile', 'HEAD']

# Bytes reserved at the head of an append file: room for the .npy header.
HEAD = 128
_NAMES = ('scores', 'targets')
_DTYPES = (np.float32, np.int8)


def _block_rows(num_classes: int) -> int:
    """Rows of a 32 MiB float32 block (reads and rebuilds go by blocks)."""
    return max(1, (1 << 25) // (4 * num_classes))


class SpillFile:
    """A rank's rows: known labels in memory while they fit, every row in
    an append file once spilled.

    Args:
        sparse_limit (int): Most known labels kept in memory (17 bytes
            each); ``0``: none, every row goes to the file.
        always_file (bool): Append every row from the start (a score file
            to keep or to read back), keeping the known labels as well
            while they fit.
    """

    def __init__(self, sparse_limit: int, always_file: bool) -> None:
        self.sparse_limit = sparse_limit
        # (local row, class, score, label) chunks of the known labels, or
        # None once they outgrew sparse_limit
        self.known: Optional[list] = [] if sparse_limit > 0 else None
        self.num_known = 0
        self.num_rows = 0
        self.num_classes: Optional[int] = None
        self.folder: Optional[str] = None  # made on the first append
        # whether the append files hold every row added
        self.spilled = always_file or sparse_limit <= 0

    def add(self, scores: np.ndarray, targets: np.ndarray) -> None:
        """Add a chunk of checked rows (float32 scores, int8 labels).

        Args:
            scores (np.ndarray): ``[n, C]`` scores.
            targets (np.ndarray): ``[n, C]`` labels in {1, 0, -1}.
        """
        self.num_classes = scores.shape[1]
        if self.known is not None:
            # flat indices: much faster than a 2-D np.nonzero
            rr, cc = np.divmod(np.flatnonzero(targets >= 0),
                               targets.shape[1])
            self.num_known += rr.size
            if self.num_known <= self.sparse_limit:
                self.known.append((rr + self.num_rows, cc.astype(np.int32),
                                   scores[rr, cc], targets[rr, cc]))
            else:  # a partial set of known labels would give a wrong AP
                self.spill()  # the rows before this chunk
                self.known = None
        if self.spilled:
            self._append(scores, targets)
        self.num_rows += len(scores)

    def spill(self) -> None:
        """Write the rows added so far, rebuilt from their known labels, to
        the append files and drop the known labels; from now on rows are
        appended as they come. No-op once spilled (an ``always_file`` rank
        keeps its known labels while they fit)."""
        if self.spilled:
            return
        if self.num_rows:
            rows, cols, sc, lb = self.known_arrays()
            bounds = np.searchsorted(rows, np.arange(self.num_rows + 1))
            width = self.num_classes
            step = _block_rows(width)
            for a in range(0, self.num_rows, step):
                b = min(a + step, self.num_rows)
                s = np.zeros((b - a, width), np.float32)
                t = np.full((b - a, width), -1, np.int8)
                sl = slice(bounds[a], bounds[b])
                s[rows[sl] - a, cols[sl]] = sc[sl]
                t[rows[sl] - a, cols[sl]] = lb[sl]
                self._append(s, t)
        self.known, self.spilled = None, True

    def known_arrays(self) -> Tuple[np.ndarray, ...]:
        """The kept known labels as four arrays (local row, class, score,
        label), in row order."""
        parts = list(zip(*self.known)) if self.known else [
            [np.zeros(0, np.int64)], [np.zeros(0, np.int32)],
            [np.zeros(0, np.float32)], [np.zeros(0, np.int8)]]
        return tuple(np.concatenate(p) for p in parts)

    def _path(self, name: str) -> str:
        return osp.join(self.folder, f'{name}.bin')

    def _append(self, scores: np.ndarray, targets: np.ndarray) -> None:
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix='granzsl_scores_')
            for name in _NAMES:
                with open(self._path(name), 'wb') as f:
                    f.write(bytes(HEAD))
        for name, arr in zip(_NAMES, (scores, targets)):
            with open(self._path(name), 'ab') as f:
                f.write(np.ascontiguousarray(arr).data)

    def blocks(self) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
        """The appended rows back, a block at a time.

        Yields:
            tuple: Local index of the block's first row, its ``[n, C]``
            scores and labels.
        """
        if self.folder is None:
            return
        width = self.num_classes
        step = _block_rows(width)
        with open(self._path('scores'), 'rb') as fs, \
                open(self._path('targets'), 'rb') as ft:
            fs.seek(HEAD)
            ft.seek(HEAD)
            for a in range(0, self.num_rows, step):
                n = min(step, self.num_rows - a)
                yield (a, np.fromfile(fs, np.float32, n * width).reshape(
                    n, width), np.fromfile(ft, np.int8, n * width).reshape(
                        n, width))

    def promote(self, folder: str) -> bool:
        """Give the append files their ``.npy`` header and move them into
        ``folder`` as ``scores.npy`` / ``targets.npy``.

        The caller checks that the rows are the dataset in order.

        Args:
            folder (str): Destination folder.

        Returns:
            bool: Whether it applied (the files exist and the headers fit
            :data:`HEAD`).
        """
        if self.folder is None:
            return False
        headers = [npy_header((self.num_rows, self.num_classes), dtype)
                   for dtype in _DTYPES]
        if any(len(h) != HEAD for h in headers):
            return False
        for name, header in zip(_NAMES, headers):
            with open(self._path(name), 'r+b') as f:
                f.write(header)
            shutil.move(self._path(name), osp.join(folder, f'{name}.npy'))
        return True

    def remove(self) -> None:
        """Remove the append files and their folder."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
