"""BiAM's Open Images v4 protocol as a streaming mmengine metric.

The protocol (image filter, class mask, AP variant, weighted mAP, F1@K on
the setting's columns) is
:mod:`granzsl_mm.evaluation.functional.openimages_protocol`; this metric
feeds it what :class:`StreamingZSLMultiLabelMetric` keeps while the batches
arrive (each image's top-K counts and the annotated labels), so 125,456 x
7,586 scores are never held or gathered. The ``'seen'`` setting takes its
top K among the *scored* seen classes only, which are known at the end:
it writes the score file and reads it once more for those counts.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import MMLogger

from granzsl_mm.registry import METRICS

from ..functional.multilabel_ap import topk_hits
from ..functional.npy_files import read_npy_rows
from ..functional.openimages_protocol import (
    AP_MODES,
    BIAM_SETTINGS,
    check_openimages_options,
    openimages_metrics_from_known,
    scored_classes,
)
from ..functional.score_file import check_score_files
from .streaming_zsl_metric import StreamingZSLMultiLabelMetric

__all__ = ['OpenImagesZSLMetric']

_KEYS = ('mAP', 'weighted_mAP', 'P@', 'R@', 'F1@')
# how the log names each AP mode (docs/datasets.md, Open Images)
_AP_NAMES = {'biam_pooled': "BiAM's pooled compute_AP",
             'per_class': 'per-class AP'}


@METRICS.register_module()
class OpenImagesZSLMetric(StreamingZSLMultiLabelMetric):
    """mAP, weighted mAP and F1@K of Open Images v4, as BiAM evaluates it.

    Keys ``{setting}/mAP``, ``{setting}/weighted_mAP``, ``{setting}/F1@10``
    (and ``P@K``, ``R@K``) for each setting in ``label_sets``. With several
    AP modes, ``mAP`` / ``weighted_mAP`` are those of the first, and every
    mode is also reported under its name: ``{setting}/mAP_biam_pooled``,
    ``{setting}/mAP_per_class`` (and ``weighted_mAP_<mode>``).

    Args:
        topk: The K values (the papers report 10 and 20).
        label_sets: Settings among ``'zsl'`` (the 400 unseen), ``'gzsl'``
            (all 7,586) and ``'seen'`` (7,186; needs the score file).
        ap: An AP mode or a sequence of them, the first giving ``mAP``:
            ``'per_class'`` (the true per-class AP, default) or
            ``'biam_pooled'`` (BiAM's ``compute_AP``, behind BiAM's and
            MKT's published Open Images numbers). The paper configs pass
            ``('biam_pooled', 'per_class')``.
        score_dir, keep_files, chunk_rows, buffer_rows, sparse_limit,
            collect_device, prefix: As :class:`StreamingZSLMultiLabelMetric`
            (``chunk_rows``: rows per read of the seen setting's pass).
    """

    def __init__(self,
                 topk: Sequence[int] = (10, 20),
                 label_sets: Sequence[str] = ('zsl', 'gzsl'),
                 ap: Union[str, Sequence[str]] = 'per_class',
                 score_dir: Optional[str] = None,
                 keep_files: bool = False,
                 chunk_rows: int = 4096,
                 buffer_rows: int = 256,
                 sparse_limit: int = 1 << 26,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        label_sets = (label_sets, ) if isinstance(label_sets, str) else \
            tuple(label_sets)
        bad = [s for s in label_sets if s not in BIAM_SETTINGS]
        if bad or not label_sets:
            raise ValueError(f'label_sets must be a non-empty subset of '
                             f'{tuple(BIAM_SETTINGS)}, got {label_sets}')
        modes = (ap, ) if isinstance(ap, str) else tuple(ap)
        if not modes or any(m not in AP_MODES for m in modes) or len(
                set(modes)) != len(modes):
            raise ValueError(f'ap must be one of {AP_MODES} or a sequence '
                             f'of distinct ones, got {ap!r}')
        self.ap = ap
        self.ap_modes = modes
        super().__init__(topk=topk, label_sets=label_sets,
                         drop_empty_images=True, score_dir=score_dir,
                         keep_files=keep_files, chunk_rows=chunk_rows,
                         buffer_rows=buffer_rows, sparse_limit=sparse_limit,
                         collect_device=collect_device, prefix=prefix)

    def _needs_score_file(self) -> bool:
        return super()._needs_score_file() or 'seen' in self.label_sets

    def _masked_hits(self, folder: str, size: int, columns: tuple,
                     scored: np.ndarray) -> np.ndarray:
        """Positives among each image's top K over the scored classes of
        ``columns``, read back from the score file in row chunks."""
        c0, c1 = columns
        check_score_files(folder, self._score_run)  # this run's, complete
        parts = []
        for a in range(0, size, self.chunk_rows):
            b = min(a + self.chunk_rows, size)
            s = read_npy_rows(osp.join(folder, 'scores.npy'), a, b)[:, c0:c1]
            t = read_npy_rows(osp.join(folder, 'targets.npy'), a, b)[:, c0:c1]
            parts.append(topk_hits(s[:, scored], t[:, scored] == 1,
                                   self.topk))
        return np.concatenate(parts, axis=1)

    def _compute(self, folder: Optional[str], size: int, num_classes: int,
                 stats: List[dict]) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        order, known_all = self._gathered(stats)
        if known_all is None:
            raise ValueError(
                f'{type(self).__name__} needs the annotated labels in '
                f'memory, but a rank had more than sparse_limit='
                f'{self.sparse_limit}; raise it (17 bytes per label)')
        rows, cols, values, labels = known_all
        metrics: Dict[str, float] = {}
        for name, (c0, c1) in self._ranges(num_classes).items():
            if c1 <= c0:
                logger.warning(f'setting {name!r} has no classes; skipped')
                continue
            n_pos, hits = self._set_counts(stats, name, order)
            class_mask, f1_columns = check_openimages_options(
                name, self.ap_modes[0], 'annotated', 'all')
            m = (cols >= c0) & (cols < c1)
            known = (rows[m], cols[m] - c0, values[m], labels[m])
            width = c1 - c0
            if f1_columns == 'masked':
                scored = scored_classes(known[1][n_pos[known[0]] > 0],
                                        c1 - c0, class_mask)
                width = int(scored.sum())
                if width < c1 - c0:
                    hits = self._masked_hits(folder, size, (c0, c1), scored)
            per_mode = {mode: openimages_metrics_from_known(
                *known, n_pos, hits, c1 - c0, self.topk, mode, class_mask,
                width) for mode in self.ap_modes}
            res = per_mode[self.ap_modes[0]]
            metrics.update({f'{name}/{k}': float(v) for k, v in res.items()
                            if k.startswith(_KEYS)})
            if len(self.ap_modes) > 1:
                for mode, out in per_mode.items():
                    for key in ('mAP', 'weighted_mAP'):
                        metrics[f'{name}/{key}_{mode}'] = float(out[key])
            aps = '; '.join(f'{_AP_NAMES[m]}: {per_mode[m]["mAP"]:.2f} '
                            f'(mAP_{m})' for m in self.ap_modes)
            logger.info(f'{name}: {res["num_images"]} images with a '
                        f'positive, {res["num_classes"]} of {c1 - c0} '
                        f'classes scored, F1 over {width} classes (BiAM '
                        f'Open Images protocol); mAP is the '
                        f'{_AP_NAMES[self.ap_modes[0]]}; {aps}')
        return metrics
