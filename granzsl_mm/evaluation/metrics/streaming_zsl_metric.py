"""ZSL / GZSL metric over a score file on disk (Open Images scale).

``ZSLMultiLabelMetric`` keeps every sample's scores in memory and gathers
them whole on rank 0: 125,456 x 7,586 float32 is 3.8 GB before any sort.
This metric gives the same numbers with memory bounded by one chunk:

1. ``process``: per buffered chunk each rank counts, for each label set,
   the positives and the positives among the top K of every image, and
   hands the rows to its :class:`~..functional.spill_file.SpillFile`
   (known labels in memory while they fit ``sparse_limit``, else every row
   in an append file);
2. ``evaluate(size)``: if any rank spilled (or ``keep_files``), the ranks
   assemble ``scores.npy`` / ``targets.npy`` of ``size`` rows in
   ``score_dir`` (:mod:`~..functional.score_file`: the sampler's padding
   dropped, rows at their ``sample_idx``); only the small per-image counts
   and known labels are gathered, never the score matrix;
3. rank 0 sums P / R / F1 from the counts and computes per-class AP from
   the known labels (:class:`~..functional.streaming.LabelSetAccumulator`,
   the rules of ``multilabel_zsl_metrics``); after a spill it computes AP
   in column chunks of the score file's transpose. The scalar metrics are
   broadcast.

With ``keep_files`` the score files hold every score and label and are
left in ``score_dir``, with ``score_files.json`` naming their run;
otherwise they are removed afterwards. Whatever an earlier run left in
``score_dir`` (another checkpoint's kept files, a run killed before its
clean-up) is cleared when this run writes its files, never read.

Scores are kept as float32 (half the memory and disk of float64): float64
scores are narrowed per buffered chunk and refused when that makes two
different scores of a class or of an image in the chunk equal
(``cast_keeping_ties``; ties between chunks are not seen). Labels: ours
only, as ``ZSLMultiLabelMetric``; the signed-label check runs once over
all ranks' chunks.
"""
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dist import (
    all_gather_object,
    barrier,
    broadcast_object_list,
    get_dist_info,
    is_main_process,
)
from mmengine.logging import MMLogger

from granzsl_mm.registry import METRICS
from granzsl_mm.utils.label_matrix import (
    cast_keeping_ties,
    check_scores,
    label_kinds,
    refuse_signed,
)

from ..functional.multilabel_ap import to_numpy, validate_scores_targets
from ..functional.score_file import (
    begin_score_files,
    check_rows_once,
    column_reader,
    create_score_files,
    finish_score_files,
    make_score_folder,
    promote_in_order,
    real_rows,
    remove_score_files,
    write_rank_rows,
)
from ..functional.spill_file import SpillFile
from ..functional.streaming import LabelSetAccumulator, row_stats
from .zsl_multilabel_metric import ZSLProtocolMetric

__all__ = ['StreamingZSLMultiLabelMetric']

# Chunks queued for the counting thread while the caller fills the next:
# two absorb a chunk that counts slower than the caller makes the next.
COUNT_AHEAD = 2



def _flat(x) -> np.ndarray:
    """A sample's field as a 1-D array (NumPy rows pass as they are)."""
    if type(x) is np.ndarray and x.ndim == 1:
        return x
    return to_numpy(x).reshape(-1)

@METRICS.register_module()
class StreamingZSLMultiLabelMetric(ZSLProtocolMetric):
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
        super().__init__(topk, label_sets, empty_class, drop_empty_images,
                         collect_device=collect_device, prefix=prefix)
        self.score_dir = score_dir
        self.keep_files = keep_files
        self.chunk_rows, self.chunk_cols = chunk_rows, chunk_cols
        self.buffer_rows = buffer_rows
        self.sparse_limit = sparse_limit
        self._reset()

    def _reset(self) -> None:
        self._counter: Optional[ThreadPoolExecutor] = None
        self._counting: List[Future] = []  # oldest first
        self._num_classes: Optional[int] = None  # stored columns
        self._num_zsl: Optional[int] = None  # of them pred_score_zsl's
        self._sample_idx: List[int] = []
        self._buf_s: List[np.ndarray] = []
        self._buf_t: List[np.ndarray] = []
        # per label set: lists of n_pos [n] and hits [len(topk), n] chunks
        self._stats: Dict[str, list] = {}
        self._has_unknown = self._has_negative = False
        self._spill_file = SpillFile(self.sparse_limit,
                                     self._needs_score_file())
        self._score_run: Optional[str] = None  # rank 0: its score files

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

    def _flush(self) -> None:
        """Hand the buffered rows to the counting thread.

        The counting of a chunk (checks, top-K per label set, the spill
        file) runs in one background thread while the caller produces the
        next chunk: NumPy and torch release the GIL, so a model's forward
        (or a score file being read) and the counting overlap. One chunk is
        counted at a time, in order, with up to :data:`COUNT_AHEAD` queued;
        an error raised while counting reaches the caller at a later flush
        or at ``evaluate``.
        """
        if not self._buf_s:
            return
        rows_s, rows_t = self._buf_s, self._buf_t
        idx = self._sample_idx[len(self._sample_idx) - len(rows_s):]
        self._buf_s, self._buf_t = [], []
        # memory: the chunks queued (COUNT_AHEAD) and the one being filled
        self._wait_counting(keep=COUNT_AHEAD - 1)
        if self._counter is None:
            self._counter = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix='streaming_metric')
        # the rows are stacked in the counting thread too: the caller
        # only appends
        self._counting.append(self._counter.submit(
            self._count_chunk, rows_s, rows_t, idx))

    def _wait_counting(self, stop: bool = False, keep: int = 0) -> None:
        """Wait until at most ``keep`` chunks are queued for counting (the
        first error is raised here); ``stop``: also end the counting
        thread."""
        try:
            while len(self._counting) > keep:
                self._counting.pop(0).result()
        finally:
            if stop and self._counter is not None:
                self._counter.shutdown(wait=True)
                self._counter = None

    def _count_chunk(self, rows_s: List[np.ndarray],
                     rows_t: List[np.ndarray], idx: List[int]) -> None:
        """Stack one chunk's rows, count it per label set and hand it to
        the spill file."""
        s, t = np.stack(rows_s), np.stack(rows_t)
        # checked per chunk, not per sample (a per-row check costs as much
        # as the counting); a non-finite row is still named by its
        # sample_idx
        try:
            s, t = validate_scores_targets(s, t, signed_check=False)
        except ValueError:
            finite = np.isfinite(s).all(axis=1)
            if finite.all():
                raise
            row = int(np.flatnonzero(~finite)[0])
            col = int(np.flatnonzero(~np.isfinite(s[row]))[0])
            field = 'pred_score_zsl' if col >= s.shape[1] - (
                self._num_zsl or 0) else 'pred_score'
            check_scores(s[row], f'{field} of sample {idx[row]}')
            raise
        # the files are float32: float64 scores must not become ties
        s = cast_keeping_ties(
            s, np.float32, type(self).__name__,
            advice='Score them with ZSLMultiLabelMetric (float64 in '
            'memory), or cast them to float32 yourself if those ties are '
            'meant.')
        has_unknown, has_negative = label_kinds(t)
        self._has_unknown = self._has_unknown or has_unknown
        self._has_negative = self._has_negative or has_negative
        for name, (c0, c1) in self._ranges(s.shape[1]).items():
            if c1 > c0:
                self._stats.setdefault(name, []).append(
                    row_stats(s[:, c0:c1], t[:, c0:c1], self.topk))
        self._spill_file.add(s, t)

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Append the batch's scores, labels and ``sample_idx``."""
        # per sample only what must be: the fields, a shape check and
        # appends (the values are checked per chunk in the counting thread)
        for sample in data_samples:
            if isinstance(sample, dict):
                pred, gt, idx, zsl = (sample.get('pred_score'),
                                      sample.get('gt_score'),
                                      sample.get('sample_idx'),
                                      sample.get('pred_score_zsl'))
            else:
                pred, gt, idx, zsl = (getattr(sample, k, None) for k in (
                    'pred_score', 'gt_score', 'sample_idx',
                    'pred_score_zsl'))
            if pred is None or gt is None or idx is None:
                raise ValueError('StreamingZSLMultiLabelMetric needs '
                                 '`pred_score`, `gt_score` and `sample_idx` '
                                 'in every data sample')
            # narrowed to float32 per chunk, refused if that makes ties;
            # finite values checked per chunk (_flush); labels keep their
            # dtype until checked per chunk (a 0.5 must not be cast to 0 on
            # the way in)
            pred, gt = _flat(pred), _flat(gt)
            num_zsl = 0
            if zsl is not None:
                zsl = _flat(zsl)
                num_zsl = zsl.size
            if self._num_classes is None:
                self._num_classes, self._num_zsl = pred.size + num_zsl, \
                    num_zsl
            elif pred.size + num_zsl != self._num_classes or \
                    num_zsl != self._num_zsl:
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

    def _real(self, size: int) -> tuple:
        """This rank's dataset indices and its real (not padding) rows."""
        rank, world = get_dist_info()
        idx = np.asarray(self._sample_idx, dtype=np.int64)
        return idx, real_rows(idx.size, rank, world, size)

    def _write_score_file(self, size: int, num_classes: int) -> tuple:
        """Rank 0 creates the score files (or promotes its spill file in
        place); every rank writes its rows. Returns the folder and the
        gathered row indices written by each rank."""
        idx, real = self._real(size)
        promoted, box = False, [None]
        if is_main_process():
            box = [make_score_folder(self.score_dir)]
            # an earlier run's files there are cleared, never read
            self._score_run = begin_score_files(box[0], size, num_classes)
            promoted = get_dist_info()[1] == 1 and promote_in_order(
                self._spill_file, box[0], idx, size)
            if not promoted:
                create_score_files(box[0], size, num_classes)
        broadcast_object_list(box)
        written = all_gather_object(
            np.arange(size) if promoted else write_rank_rows(
                self._spill_file, box[0], idx, real))
        return box[0], written

    def _own_stats(self, size: int) -> dict:
        """This rank's per-image counts and known labels, padding dropped,
        rows as dataset indices (small: gathered to rank 0)."""
        idx, real = self._real(size)
        out = dict(idx=idx[real], stats={}, known=None,
                   kinds=(self._has_unknown, self._has_negative))
        for name, parts in self._stats.items():
            n_pos = np.concatenate([p[0] for p in parts])
            hits = np.concatenate([p[1] for p in parts], axis=1)
            out['stats'][name] = (n_pos[real], hits[:, real])
        if self._spill_file.known is not None:
            rows, cols, sc, lb = self._spill_file.known_arrays()
            m = real[rows]
            out['known'] = (idx[rows[m]], cols[m], sc[m], lb[m])
        return out

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
        self._wait_counting(stop=True)
        # one rank past sparse_limit: every rank writes the score file
        with_file = any(all_gather_object(self._spill_file.spilled))
        if with_file:
            self._spill_file.spill()
            folder, written = self._write_score_file(size, num_classes)
        else:
            idx, real = self._real(size)
            folder, written = None, all_gather_object(idx[real])
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
        self._spill_file.remove()
        if folder is not None and is_main_process() and not self.keep_files:
            remove_score_files(folder, remove_folder=made_tmp)
        self.results.clear()
        self._reset()
        if isinstance(box[0], Exception):
            raise box[0]
        return box[0]

    def _checked_compute(self, written: List[np.ndarray], stats: List[dict],
                         folder: Optional[str], size: int,
                         num_classes: int) -> Dict[str, float]:
        check_rows_once(written, size, type(self).__name__)
        if folder is not None:
            finish_score_files(folder, self._score_run)
        refuse_signed(any(st['kinds'][0] for st in stats),
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
        # only called after a spill (folder set)
        read_cols = column_reader(folder, self._score_run) if folder \
            else None
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
            metrics.update(self._scalar_metrics(name, res))
        return metrics

    def compute_metrics(self, results: list) -> dict:
        """Not used: :meth:`evaluate` streams from the score file."""
        raise NotImplementedError('StreamingZSLMultiLabelMetric computes in '
                                  'evaluate()')
