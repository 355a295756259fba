"""ZSL / GZSL metric over a score file on disk (Open Images scale).

``ZSLMultiLabelMetric`` keeps every sample's scores in memory and gathers
them whole on rank 0: 125,456 x 7,586 float32 is 3.8 GB before any sort.
This metric gives the same numbers with memory bounded by one chunk:

1. ``process``: per buffered chunk each rank counts, for each label set,
   the positives and the positives among the top K of every image, and
   keeps the known labels ``(row, class, score, label)`` while they stay
   under ``sparse_limit`` (Open Images: ~9 known among 7,586; 99.9 %
   unknown). AP looks at known labels only, so while they fit nothing
   else is kept: no score file is written unless ``keep_files``. Past the
   limit the rank *spills*: the rows so far are written to an append file
   of its own (scores and labels; the unknown entries, which no metric
   reads, as 0 / -1), and every later chunk is appended as it comes;
2. ``evaluate(size)``: if any rank spilled (or ``keep_files``), rank 0
   creates ``scores.npy`` / ``targets.npy`` of ``size`` rows in
   ``score_dir`` (every rank must see that folder: a shared file system
   across nodes); each rank (spilling now if it had not) writes its rows
   at their ``sample_idx`` (one process with the samples in dataset order:
   its append files become the score files in place, their reserved head
   taking the ``.npy`` header); the sampler's padding (local sample ``k``
   of rank ``r`` at global position ``r + k * world_size >= size``, the
   rule of mmengine's ``DefaultSampler`` and ``collect_results``) is
   dropped; only the small per-image counts and known labels are gathered,
   never the score matrix;
3. rank 0 sums P / R / F1 from the counts and computes per-class AP from
   the known labels (:class:`~granzsl_mm.evaluation.functional.streaming.
   LabelSetAccumulator`, the rules of ``multilabel_zsl_metrics``); after a
   spill it writes the class-major transpose of the score file once and
   computes AP in column chunks of it. The scalar metrics are broadcast.

The score files are ``.npy``: ``np.load(path, mmap_mode='r')`` opens them
memory-mapped; with ``keep_files`` they hold every score and label and are
left in ``score_dir``, otherwise they are removed afterwards.
"""
import io
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dist import (
    all_gather_object,
    barrier,
    broadcast_object_list,
    get_dist_info,
    is_main_process,
)
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from granzsl_mm.registry import METRICS

from ..functional.multilabel_ap import to_numpy, validate_scores_targets
from ..functional.streaming import (
    LabelSetAccumulator,
    create_npy,
    read_npy_rows,
    row_stats,
    transpose_npy,
    write_npy_rows,
)
from .zsl_multilabel_metric import (
    check_protocol_options,
    refuse_signed_labels,
)

__all__ = ['StreamingZSLMultiLabelMetric']

_SCALAR_KEYS = ('mAP', 'P@', 'R@', 'F1@', 'img_P@', 'img_R@')
# Bytes reserved at the head of a rank's append file: room for the .npy
# header, so that a file already in dataset order becomes the score file
# in place (one process, the usual single-GPU test).
_HEAD = 128


def _npy_header(shape: tuple, dtype) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {
        'descr': np.lib.format.dtype_to_descr(np.dtype(dtype)),
        'fortran_order': False, 'shape': tuple(shape)})
    return buf.getvalue()


@METRICS.register_module()
class StreamingZSLMultiLabelMetric(BaseMetric):
    """``ZSLMultiLabelMetric``'s numbers in memory bounded by a chunk.

    Label sets, keys and options as :class:`ZSLMultiLabelMetric`. Samples
    that score the unseen set on its own (``pred_score_zsl``, as our ZSL
    models emit it) have those scores stored as extra columns after
    ``pred_score`` (their labels repeated): ZSL is scored on them, the
    other sets on ``pred_score``, as in memory.

    Args:
        topk: The K values of P/R/F1@K.
        label_sets: Any of ``'zsl'``, ``'gzsl'``, ``'seen'``,
            ``'multilabel'``.
        empty_class: ``'zero'`` or ``'skip'``.
        drop_empty_images: Drop images with no positive in the label set.
        score_dir: Folder of the score files (shared by all ranks; default
            a temporary folder made by rank 0, fine on one node).
        keep_files: Write ``scores.npy`` / ``targets.npy`` with every score
            and keep them after evaluating (default: written only when the
            known labels outgrow ``sparse_limit``, then removed).
        chunk_rows: Rows per read when a subclass reads the score file
            back (the counts are made per ``buffer_rows`` chunk);
            ``chunk_cols``: classes per column chunk of the dense-label AP
            path.
        buffer_rows: Samples a rank buffers before counting them and
            appending them to its file.
        sparse_limit: Most known labels a rank keeps in memory for the
            sparse AP path (17 bytes each); past it the rank spills to the
            score file and AP takes the transposed column path (``0``:
            always).
        prefix: Optional prefix of all keys.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 topk: Sequence[int] = (3, 5),
                 label_sets: Sequence[str] = ('zsl', 'gzsl'),
                 empty_class: str = 'zero',
                 drop_empty_images: bool = False,
                 score_dir: Optional[str] = None,
                 keep_files: bool = False,
                 chunk_rows: int = 4096,
                 chunk_cols: int = 64,
                 buffer_rows: int = 256,
                 sparse_limit: int = 1 << 26,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.label_sets = check_protocol_options(label_sets, empty_class)
        self.topk = tuple(int(k) for k in topk)
        self.empty_class = empty_class
        self.drop_empty_images = drop_empty_images
        self.score_dir = score_dir
        self.keep_files = keep_files
        self.chunk_rows, self.chunk_cols = chunk_rows, chunk_cols
        self.buffer_rows = buffer_rows
        self.sparse_limit = sparse_limit
        self._reset()

    # per-rank append files ------------------------------------------------
    def _reset(self) -> None:
        self._local_dir: Optional[str] = None
        self._num_classes: Optional[int] = None  # stored columns
        self._num_zsl: Optional[int] = None  # of them pred_score_zsl's
        self._sample_idx: List[int] = []
        self._buf_s: List[np.ndarray] = []
        self._buf_t: List[np.ndarray] = []
        # per label set: lists of n_pos [n] and hits [len(topk), n] chunks
        self._stats: Dict[str, list] = {}
        # (local row, class, score, label) of the known labels, or None
        self._known: Optional[list] = [] if self.sparse_limit > 0 else None
        self._num_known = 0
        self._num_flushed = 0
        self._has_unknown = self._has_negative = False
        # whether the append files hold every flushed row
        self._spilled = self._needs_score_file()

    def _needs_score_file(self) -> bool:
        """Whether every row goes to the score file from the start."""
        return self.keep_files or self.sparse_limit <= 0

    def _ranges(self, width: int) -> Dict[str, tuple]:
        """Column range of each label set among the ``width`` stored ones
        (``pred_score``'s classes, then any ``pred_score_zsl``)."""
        num_zsl = self._num_zsl or 0
        num_classes = width - num_zsl
        num_seen = self._num_seen(num_classes)
        ranges = dict(zsl=(num_seen, num_classes) if not num_zsl else
                      (num_classes, width), seen=(0, num_seen),
                      gzsl=(0, num_classes), multilabel=(0, num_classes))
        return {name: ranges[name] for name in self.label_sets}

    def _count(self, s: np.ndarray, t: np.ndarray) -> tuple:
        """Top-K counts of a flushed chunk per label set, and its known
        labels (evaluate() reads no rows).

        Returns:
            tuple: Whether the known labels stay under ``sparse_limit``
            (else they are not kept), and the checked scores and int8
            labels.
        """
        s, t = validate_scores_targets(s, t)
        self._has_unknown = self._has_unknown or bool((t < 0).any())
        self._has_negative = self._has_negative or bool((t == 0).any())
        for name, (c0, c1) in self._ranges(s.shape[1]).items():
            if c1 > c0:
                self._stats.setdefault(name, []).append(
                    row_stats(s[:, c0:c1], t[:, c0:c1], self.topk))
        fits = False
        if self._known is not None:
            # flat indices: much faster than a 2-D np.nonzero
            rr, cc = np.divmod(np.flatnonzero(t >= 0), t.shape[1])
            self._num_known += rr.size
            fits = self._num_known <= self.sparse_limit
            if fits:
                self._known.append((rr + self._num_flushed,
                                    cc.astype(np.int32), s[rr, cc],
                                    t[rr, cc]))
        return fits, s, t

    def _append(self, scores: np.ndarray, targets: np.ndarray) -> None:
        """Append rows to this rank's files (made on first use)."""
        if self._local_dir is None:
            self._local_dir = tempfile.mkdtemp(prefix='granzsl_scores_')
            for name in ('scores.bin', 'targets.bin'):
                with open(osp.join(self._local_dir, name), 'wb') as f:
                    f.write(bytes(_HEAD))
        for name, arr in (('scores', scores), ('targets', targets)):
            with open(osp.join(self._local_dir, f'{name}.bin'), 'ab') as f:
                f.write(np.ascontiguousarray(arr).data)

    def _spill(self) -> None:
        """Write the rows flushed so far, rebuilt from their known labels
        (unknown entries: score 0, label -1; no metric reads them), to the
        append files; from now on chunks are appended as they come."""
        if self._spilled:
            return
        rows, cols, sc, lb = self._known_arrays()
        self._known, self._spilled = None, True
        bounds = np.searchsorted(rows, np.arange(0, self._num_flushed + 1))
        step = max(1, (1 << 25) // (4 * self._num_classes))
        for a in range(0, self._num_flushed, step):
            b = min(a + step, self._num_flushed)
            s = np.zeros((b - a, self._num_classes), np.float32)
            t = np.full((b - a, self._num_classes), -1, np.int8)
            sl = slice(bounds[a], bounds[b])
            s[rows[sl] - a, cols[sl]] = sc[sl]
            t[rows[sl] - a, cols[sl]] = lb[sl]
            self._append(s, t)

    def _flush(self) -> None:
        if not self._buf_s:
            return
        fits, scores, targets = self._count(np.stack(self._buf_s),
                                            np.stack(self._buf_t))
        self._buf_s, self._buf_t = [], []
        if not fits:
            self._spill()  # the rows before this chunk; no-op if spilled
        if self._spilled:
            self._append(scores, targets)
        self._num_flushed += len(scores)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Append the batch's scores, labels and ``sample_idx``."""
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else \
                (lambda k, s=sample: getattr(s, k, None))
            pred, gt, idx = get('pred_score'), get('gt_score'), \
                get('sample_idx')
            if pred is None or gt is None or idx is None:
                raise ValueError('StreamingZSLMultiLabelMetric needs '
                                 '`pred_score`, `gt_score` and `sample_idx` '
                                 'in every data sample')
            pred = to_numpy(pred).astype(np.float32, copy=False).reshape(-1)
            # labels keep their dtype until checked per chunk (a 0.5 must
            # not be cast to 0 on the way in)
            gt = to_numpy(gt).reshape(-1)
            zsl = get('pred_score_zsl')
            if zsl is not None:
                zsl = to_numpy(zsl).astype(np.float32, copy=False).reshape(-1)
            num_zsl = 0 if zsl is None else zsl.size
            if self._num_classes is None:
                self._num_classes, self._num_zsl = pred.size + num_zsl, \
                    num_zsl
            elif (pred.size + num_zsl, num_zsl) != (self._num_classes,
                                                    self._num_zsl):
                raise ValueError(
                    f'pred_score has {pred.size} classes and pred_score_zsl '
                    f'{num_zsl}; earlier samples '
                    f'{self._num_classes - self._num_zsl} and '
                    f'{self._num_zsl}')
            if num_zsl:
                if gt.size < num_zsl:
                    raise ValueError(f'pred_score_zsl has {num_zsl} classes, '
                                     f'gt_score only {gt.size}')
                pred = np.concatenate([pred, zsl])
                gt = np.concatenate([gt, gt[gt.size - num_zsl:]])
            self._buf_s.append(pred)
            self._buf_t.append(gt)
            self._sample_idx.append(int(idx))
            self.results.append(None)  # counted by BaseMetric's checks
            if len(self._buf_s) >= self.buffer_rows:
                self._flush()

    def _own_rows(self, size: int) -> np.ndarray:
        """Dataset indices of this rank's samples, the padding dropped."""
        rank, world = get_dist_info()
        idx = np.asarray(self._sample_idx, dtype=np.int64)
        return idx[rank + world * np.arange(idx.size) < size]

    def _write_score_file(self, size: int, num_classes: int) -> tuple:
        """Rank 0 creates the score files (or promotes its append files in
        place); every rank writes its rows. Returns the folder and the
        gathered row indices written by each rank."""
        promoted = False
        if is_main_process():
            folder = self.score_dir or tempfile.mkdtemp(
                prefix='granzsl_scorefile_')
            os.makedirs(folder, exist_ok=True)
            promoted = self._promote_in_order(folder, size, num_classes)
            if not promoted:
                create_npy(osp.join(folder, 'scores.npy'),
                           (size, num_classes), np.float32)
                create_npy(osp.join(folder, 'targets.npy'),
                           (size, num_classes), np.int8)
            box = [folder]
        else:
            box = [None]
        broadcast_object_list(box)
        folder = box[0]
        written = all_gather_object(
            np.arange(size) if promoted else self._write_own_rows(
                osp.join(folder, 'scores.npy'),
                osp.join(folder, 'targets.npy'), size))
        return folder, written

    def _write_own_rows(self, scores_path: str, targets_path: str,
                        size: int) -> np.ndarray:
        """Write this rank's non-padding rows; return their indices."""
        self._flush()
        rank, world = get_dist_info()
        pos = rank + world * np.arange(len(self._sample_idx))
        real = pos < size
        idx = np.asarray(self._sample_idx, dtype=np.int64)
        if self._local_dir is None or not real.any():
            return idx[:0]
        num_classes = self._num_classes
        step = max(1, (1 << 25) // (4 * num_classes))
        with open(osp.join(self._local_dir, 'scores.bin'), 'rb') as fs, \
                open(osp.join(self._local_dir, 'targets.bin'), 'rb') as ft:
            fs.seek(_HEAD)
            ft.seek(_HEAD)
            for a in range(0, idx.size, step):
                n = min(step, idx.size - a)
                s = np.fromfile(fs, np.float32, n * num_classes).reshape(n, -1)
                t = np.fromfile(ft, np.int8, n * num_classes).reshape(n, -1)
                m = real[a:a + n]
                write_npy_rows(scores_path, idx[a:a + n][m], s[m])
                write_npy_rows(targets_path, idx[a:a + n][m], t[m])
        return idx[real]

    def _own_stats(self, size: int) -> dict:
        """This rank's per-image counts and known labels, padding dropped,
        rows as dataset indices (small: gathered to rank 0)."""
        self._flush()
        rank, world = get_dist_info()
        idx = np.asarray(self._sample_idx, dtype=np.int64)
        real = rank + world * np.arange(idx.size) < size
        out = dict(idx=idx[real], stats={}, known=None,
                   kinds=(self._has_unknown, self._has_negative))
        for name, parts in self._stats.items():
            n_pos = np.concatenate([p[0] for p in parts])
            hits = np.concatenate([p[1] for p in parts], axis=1)
            out['stats'][name] = (n_pos[real], hits[:, real])
        if self._known is not None:
            rows, cols, sc, lb = self._known_arrays()
            m = real[rows]
            out['known'] = (idx[rows[m]], cols[m], sc[m], lb[m])
        return out

    def _known_arrays(self) -> tuple:
        """The kept known labels as four arrays (local row, class, score,
        label), in row order."""
        parts = list(zip(*self._known)) if self._known else [
            [np.zeros(0, np.int64)], [np.zeros(0, np.int32)],
            [np.zeros(0, np.float32)], [np.zeros(0, np.int8)]]
        return tuple(np.concatenate(p) for p in parts)

    def _promote_in_order(self, folder: str, size: int,
                          num_classes: int) -> bool:
        """One process with the samples in dataset order: the append files
        get their ``.npy`` header and are moved into ``folder`` (no second
        write of the scores). Returns whether it applied."""
        if get_dist_info()[1] != 1 or self._local_dir is None:
            return False
        self._flush()
        idx = np.asarray(self._sample_idx, dtype=np.int64)
        if idx.size != size or not np.array_equal(idx, np.arange(size)):
            return False
        headers = {name: _npy_header((size, num_classes), dtype)
                   for name, dtype in (('scores', np.float32),
                                       ('targets', np.int8))}
        if any(len(h) != _HEAD for h in headers.values()):
            return False
        for name, header in headers.items():
            src = osp.join(self._local_dir, f'{name}.bin')
            with open(src, 'r+b') as f:
                f.write(header)
            shutil.move(src, osp.join(folder, f'{name}.npy'))
        return True

    # evaluation -----------------------------------------------------------
    def _num_seen(self, num_classes: int) -> int:
        meta = self.dataset_meta or {}
        if 'seen_classes' in meta:
            return min(len(meta['seen_classes']), num_classes)
        if 'unseen_classes' in meta:
            return max(num_classes - len(meta['unseen_classes']), 0)
        return num_classes

    def evaluate(self, size: int) -> dict:
        """Write the score file by dataset index and compute the metrics.

        Args:
            size (int): Length of the dataset (padding beyond it dropped).

        Returns:
            dict: Metrics (same keys as ``ZSLMultiLabelMetric``).
        """
        classes = [c for c in all_gather_object((self._num_classes,
                                                 self._num_zsl))
                   if c[0] is not None]
        if not classes or len(set(classes)) > 1:
            raise ValueError(f'{type(self).__name__}: no samples or ranks '
                             'disagree on the number of classes (stored '
                             f'columns, pred_score_zsl): {classes}')
        num_classes, self._num_zsl = classes[0]
        self._flush()
        # one rank past sparse_limit: every rank writes the score file
        with_file = any(all_gather_object(self._spilled))
        if with_file:
            self._spill()
            folder, written = self._write_score_file(size, num_classes)
        else:
            folder, written = None, all_gather_object(self._own_rows(size))
        made_tmp = self.score_dir is None
        stats = all_gather_object(self._own_stats(size))
        barrier()
        box = [None]
        if is_main_process():
            try:  # errors reach every rank (no rank left waiting)
                box = [self._checked_compute(written, stats, folder, size,
                                             num_classes)]
            except Exception as e:
                box = [e]
        broadcast_object_list(box)
        barrier()
        if self._local_dir is not None:
            shutil.rmtree(self._local_dir, ignore_errors=True)
        if folder is not None and is_main_process() and not self.keep_files:
            for name in ('scores.npy', 'targets.npy', 'scores_T.npy',
                         'targets_T.npy'):
                path = osp.join(folder, name)
                if osp.exists(path):
                    os.remove(path)
            if made_tmp:
                shutil.rmtree(folder, ignore_errors=True)
        self.results.clear()
        self._reset()
        if isinstance(box[0], Exception):
            raise box[0]
        return box[0]

    def _checked_compute(self, written: List[np.ndarray], stats: List[dict],
                         folder: Optional[str], size: int,
                         num_classes: int) -> Dict[str, float]:
        hits = np.bincount(np.concatenate(written), minlength=size)
        if hits.size != size or (hits != 1).any():
            bad = np.flatnonzero(hits != 1)[:5].tolist()
            raise ValueError(
                f'{type(self).__name__}: rows {bad} written '
                f'{hits[bad].tolist()} times; every index of the {size} '
                'samples must come exactly once (a sampler other than '
                "mmengine's DefaultSampler?)")
        refuse_signed_labels(any(st['kinds'][0] for st in stats),
                             any(st['kinds'][1] for st in stats))
        metrics = self._compute(folder, size, num_classes, stats)
        if self.prefix:
            metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        return metrics

    @staticmethod
    def _gathered(stats: List[dict]) -> tuple:
        """The ranks' rows in dataset order (``order``), and their known
        labels ``(rows, cols, scores, labels)`` (None if a rank spilled)."""
        order = np.argsort(np.concatenate([st['idx'] for st in stats]),
                           kind='stable')  # row = dataset index
        if any(st['known'] is None for st in stats):
            return order, None
        return order, tuple(np.concatenate([st['known'][i] for st in stats])
                            for i in range(4))

    @staticmethod
    def _set_counts(stats: List[dict], name: str,
                    order: np.ndarray) -> tuple:
        """Positives per image and top-K hits of a label set, all ranks, in
        dataset order."""
        parts = [st['stats'][name] for st in stats if name in st['stats']]
        return (np.concatenate([p[0] for p in parts])[order],
                np.concatenate([p[1] for p in parts], axis=1)[:, order])

    def _compute(self, folder: Optional[str], size: int, num_classes: int,
                 stats: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        paths = {n: osp.join(folder or '', f'{n}.npy')
                 for n in ('scores', 'targets', 'scores_T', 'targets_T')}

        def read_cols(a, b):  # only called after a spill (folder set)
            if not osp.exists(paths['targets_T']):  # first call: transpose
                transpose_npy(paths['scores'], paths['scores_T'])
                transpose_npy(paths['targets'], paths['targets_T'])
            return (read_npy_rows(paths['scores_T'], a, b),
                    read_npy_rows(paths['targets_T'], a, b))

        order, known = self._gathered(stats)
        sparse = known is not None
        metrics: Dict[str, float] = {}
        for name, columns in self._ranges(num_classes).items():
            if columns[1] <= columns[0]:
                logger.warning(f'label set {name!r} has no classes; skipped')
                continue
            n_pos, hits = self._set_counts(stats, name, order)
            # the limit is per rank: rank 0 takes all the gathered labels
            acc = LabelSetAccumulator(
                columns, size, self.topk, self.drop_empty_images,
                max(1, known[0].size) if sparse else 0)
            acc.add_counts(0, n_pos, hits, known)
            res = acc.result(read_cols, self.empty_class, self.chunk_cols,
                             False)
            logger.info(f'{name}: {res["num_images"]} images scored, '
                        f'{res["num_classes"]} classes, '
                        f'{res["num_empty_classes"]} without positives '
                        f'(AP: {res["ap_path"]}'
                        + (f', score file in {folder})' if folder else ')'))
            key_prefix = '' if name == 'multilabel' else f'{name}/'
            for key, value in res.items():
                if key.startswith(_SCALAR_KEYS):
                    metrics[key_prefix + key] = float(value)
        return metrics

    def compute_metrics(self, results: list) -> dict:
        """Not used: :meth:`evaluate` streams from the score file."""
        raise NotImplementedError('StreamingZSLMultiLabelMetric computes in '
                                  'evaluate()')
