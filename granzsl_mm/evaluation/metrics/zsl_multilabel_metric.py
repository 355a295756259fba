"""ZSL / GZSL multi-label metric (mmengine ``BaseMetric`` wrapper)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from granzsl_mm.registry import METRICS

from ..functional import multilabel_zsl_metrics
from ..functional.multilabel_ap import TIE_RULES, to_numpy

__all__ = ['ZSLMultiLabelMetric', 'LABEL_SETS', 'check_protocol_options',
           'labels_as_int8', 'refuse_signed_labels']

LABEL_SETS = ('zsl', 'gzsl', 'seen', 'multilabel')


def check_protocol_options(label_sets: Sequence[str],
                           empty_class: str) -> tuple:
    """Check the protocol options shared by the ZSL metrics.

    Args:
        label_sets (str | Sequence[str]): A subset of ``LABEL_SETS``.
        empty_class (str): ``'zero'`` or ``'skip'``.

    Returns:
        tuple: The label sets as a tuple.
    """
    if isinstance(label_sets, str):
        label_sets = (label_sets, )
    unknown = [s for s in label_sets if s not in LABEL_SETS]
    if unknown or not label_sets:
        raise ValueError(f'label_sets must be a non-empty subset of '
                         f'{LABEL_SETS}, got {label_sets}')
    if empty_class not in ('zero', 'skip'):
        raise ValueError("empty_class must be 'zero' or 'skip'")
    return tuple(label_sets)
_SCALAR_KEYS = ('mAP', 'P@', 'R@', 'F1@', 'img_P@', 'img_R@')


def labels_as_int8(gt) -> np.ndarray:
    """A sample's ``gt_score`` as int8, refusing values that are not whole.

    Args:
        gt: Labels (tensor or array) in {1, 0, -1}.

    Returns:
        np.ndarray: The labels as int8 (same shape).

    Raises:
        ValueError: If a label is not a whole number (a 0.5 would silently
            become 0).
    """
    gt = to_numpy(gt)
    out = gt.astype(np.int8)
    if gt.dtype.kind == 'f' and not np.array_equal(out, gt):
        bad = np.unique(gt[out != gt])[:5].tolist()
        raise ValueError(f'gt_score must be in {{1, 0, -1}}; found {bad}')
    return out


def refuse_signed_labels(has_unknown: bool, has_negative: bool) -> None:
    """Refuse targets in the papers' signed convention (+1 / -1, no 0).

    Our convention reads -1 as unknown, so a signed matrix would score every
    valid entry as positive (mAP 100). Unknowns without a single negative
    anywhere is that case.

    Args:
        has_unknown: Whether any label is -1.
        has_negative: Whether any label is 0.

    Raises:
        ValueError: On unknowns without any negative.
    """
    if has_unknown and not has_negative:
        raise ValueError(
            'gt_score holds unknowns (-1) but no negative (0) at all: these '
            'look like labels in the signed convention (+1 positive, -1 '
            'negative), which this metric would read as "every valid label '
            'is positive". Convert them with granzsl_mm.datasets.'
            'signed_to_ours (label_conventions) first.')


@METRICS.register_module()
class ZSLMultiLabelMetric(BaseMetric):
    """mAP and top-K P/R/F1 for several label sets in one pass.

    Label sets (class order: seen classes then unseen):

    * ``'zsl'``: unseen classes only; uses ``pred_score_zsl`` when the
      samples carry it (methods normalising per set), else slices
      ``pred_score``. Keys ``zsl/mAP``, ``zsl/F1@3``, ...
    * ``'gzsl'``: all classes (``gzsl/...``).
    * ``'seen'``: seen classes only (``seen/...``).
    * ``'multilabel'``: all classes, no split, un-prefixed keys (``mAP``,
      ``img_P@3``: the SPML protocol).

    Seen/unseen come from ``dataset_meta['seen_classes']`` (set by the
    Runner's evaluator); a label set with no classes is skipped.

    Args:
        topk: The K values of P/R/F1@K.
        label_sets: Label sets to score.
        empty_class: ``'zero'`` (AP 0, counted; reference protocol) or
            ``'skip'`` for classes without positives.
        drop_empty_images: Drop images with no positive in the scored label
            set (GranZSL protocol) instead of scoring all (BiAM/MKT/SigRL).
        ties: AP tie rule: ``'pessimistic'`` (default, sklearn's: a tie
            counts as ranked above) or ``'stable'`` (ties in input order, as
            the references' ``sort`` gives on CPU); see
            :mod:`granzsl_mm.evaluation.functional.multilabel_ap`.
        out_dir: If given, per-class AP JSON/CSV and PNG plots are written
            there (see :mod:`granzsl_mm.evaluation.reports`).
        collect_device: ``'cpu'`` or ``'gpu'`` for gathering results.
        prefix: Optional prefix of all keys (e.g. ``'val-seen'``).
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 topk: Sequence[int] = (3, 5),
                 label_sets: Sequence[str] = ('zsl', 'gzsl'),
                 empty_class: str = 'zero',
                 drop_empty_images: bool = False,
                 ties: str = 'pessimistic',
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.label_sets = check_protocol_options(label_sets, empty_class)
        self.topk = tuple(int(k) for k in topk)
        self.empty_class = empty_class
        if ties not in TIE_RULES:
            raise ValueError(f'ties must be one of {TIE_RULES}, got {ties!r}')
        self.drop_empty_images = drop_empty_images
        self.ties = ties
        self.out_dir = out_dir

    @property
    def protocol(self) -> str:
        """A one-line description of the protocol options in use."""
        images = ('images without positives dropped'
                  if self.drop_empty_images else 'all images')
        return (f'empty_class={self.empty_class}, {images}, '
                f'ties={self.ties}, topk={self.topk}, '
                f'label_sets={self.label_sets}')

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store the scores and labels of a batch (as NumPy arrays)."""
        for sample in data_samples:
            get = sample.get if isinstance(sample, dict) else \
                (lambda k, s=sample: getattr(s, k, None))
            if get('image_skipped'):  # unreadable mid-run, bad_images='skip'
                self.results.append(dict(skipped_image=str(
                    get('img_path') or '?')))
                continue
            pred, gt = get('pred_score'), get('gt_score')
            if pred is None or gt is None:
                raise ValueError('ZSLMultiLabelMetric needs `pred_score` and '
                                 '`gt_score` in every data sample')
            item = dict(pred_score=to_numpy(pred).astype(np.float32),
                        gt_score=labels_as_int8(gt))
            zsl = get('pred_score_zsl')
            if zsl is not None:
                item['pred_score_zsl'] = to_numpy(zsl).astype(np.float32)
            self.results.append(item)

    def _num_seen(self, num_classes: int) -> int:
        """Number of seen classes (the first ones) among ``num_classes``."""
        meta = self.dataset_meta or {}
        if 'seen_classes' in meta:
            return min(len(meta['seen_classes']), num_classes)
        if 'unseen_classes' in meta:
            return max(num_classes - len(meta['unseen_classes']), 0)
        return num_classes

    def label_set_arrays(self, results: List[dict]) -> Dict[str, tuple]:
        """Scores, targets and class indices of each label set.

        Args:
            results: Stored per-sample dicts (after gathering).

        Returns:
            dict: label set name -> ``(scores, targets, class_indices)``.
        """
        results = [r for r in results if 'skipped_image' not in r]
        if not results:
            raise ValueError(
                'ZSLMultiLabelMetric has no result to score: no data sample '
                'was processed (an empty test set, or evaluate() called '
                'before process()); check the dataset and the dataloader.')
        scores = np.stack([r['pred_score'] for r in results])
        targets = np.stack([r['gt_score'] for r in results])
        refuse_signed_labels(bool((targets < 0).any()),
                             bool((targets == 0).any()))
        num_classes = targets.shape[1]
        num_seen = self._num_seen(num_classes)
        out = {}
        for name in self.label_sets:
            if name == 'zsl':
                idx = np.arange(num_seen, num_classes)
                if all('pred_score_zsl' in r for r in results):
                    set_scores = np.stack(
                        [r['pred_score_zsl'] for r in results])
                    if set_scores.shape[1] != idx.size:
                        raise ValueError(
                            f'pred_score_zsl has {set_scores.shape[1]} '
                            f'classes, expected {idx.size} unseen classes')
                else:
                    set_scores = scores[:, idx]
            elif name == 'seen':
                idx = np.arange(num_seen)
                set_scores = scores[:, idx]
            else:
                idx = np.arange(num_classes)
                set_scores = scores
            if idx.size:
                out[name] = (set_scores, targets[:, idx], idx)
        return out

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute every label set's metrics from the gathered results."""
        logger = MMLogger.get_current_instance()
        logger.info(f'ZSLMultiLabelMetric protocol: {self.protocol}')
        metrics, per_class = {}, {}
        skipped = [r['skipped_image'] for r in results
                   if 'skipped_image' in r]
        if skipped:
            logger.warning(
                f'{len(skipped)} image(s) could not be read during the run '
                "and were skipped (bad_images='skip'), not scored: "
                + ', '.join(skipped[:5]) + (' ...' if len(skipped) > 5
                                            else ''))
        arrays = self.label_set_arrays(results)
        for name in self.label_sets:
            if name not in arrays:
                logger.warning(f'label set {name!r} has no classes; skipped')
                continue
            set_scores, set_targets, idx = arrays[name]
            res = multilabel_zsl_metrics(
                set_scores, set_targets, topk=self.topk,
                empty_class=self.empty_class,
                drop_empty_images=self.drop_empty_images,
                return_per_class=True, ties=self.ties)
            per_class[name] = (idx, res['per_class_AP'])
            dropped = len(set_scores) - res['num_images']
            logger.info(
                f'{name}: {res["num_images"]} images scored'
                + (f' ({dropped} without positives dropped)'
                   if self.drop_empty_images else '')
                + f', {res["num_classes"]} classes, '
                f'{res["num_empty_classes"]} without positives (AP '
                + ('0, counted)' if self.empty_class == 'zero' else
                   'skipped)'))
            key_prefix = '' if name == 'multilabel' else f'{name}/'
            for key, value in res.items():
                if key.startswith(_SCALAR_KEYS):
                    metrics[key_prefix + key] = float(value)
        if self.out_dir is not None and per_class:
            from ..reports import write_reports
            write_reports(self.out_dir, per_class, arrays, self.dataset_meta,
                          prefix=self.prefix)
        return metrics
