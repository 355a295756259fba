"""ZSL / GZSL multi-label metric (mmengine ``BaseMetric`` wrapper)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from granzsl_mm.registry import METRICS
from granzsl_mm.utils.label_matrix import check_scores, labels_as_int8

from ..functional import multilabel_zsl_metrics
from ..functional.multilabel_ap import TIE_RULES, check_topk, to_numpy

__all__ = ['ZSLMultiLabelMetric', 'ZSLProtocolMetric', 'LABEL_SETS',
           'check_protocol_options']

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


def _experiment_name() -> Optional[str]:
    """The current run's experiment name without the time stamp mmengine's
    Runner appends (``granzsl_demo_20261205_051024`` -> ``granzsl_demo``),
    or None outside a run."""
    import re

    from mmengine.logging import MessageHub
    if not MessageHub._instance_dict:  # no run: get_current_instance
        return None                     # would make a root instance
    name = MessageHub.get_current_instance().instance_name
    return re.sub(r'_\d{8}_\d{6}$', '', name) or None


_SCALAR_KEYS = ('mAP', 'P@', 'R@', 'F1@', 'img_P@', 'img_R@')


class ZSLProtocolMetric(BaseMetric):
    """The protocol options and label-set rules of the ZSL metrics (the
    in-memory one and the streaming ones).

    Args:
        topk: The K values of P/R/F1@K.
        label_sets: A subset of ``LABEL_SETS``.
        empty_class: ``'zero'`` or ``'skip'``.
        drop_empty_images: Drop images with no positive in the label set.
        collect_device: ``'cpu'`` or ``'gpu'`` for gathering results.
        prefix: Optional prefix of all keys.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 topk: Sequence[int],
                 label_sets: Sequence[str],
                 empty_class: str,
                 drop_empty_images: bool,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.label_sets = check_protocol_options(label_sets, empty_class)
        self.topk = check_topk(topk)
        self.empty_class = empty_class
        self.drop_empty_images = drop_empty_images

    def _num_seen(self, num_classes: int) -> int:
        """Number of seen classes (the first ones) among ``num_classes``."""
        meta = self.dataset_meta or {}
        if 'seen_classes' in meta:
            return min(len(meta['seen_classes']), num_classes)
        if 'unseen_classes' in meta:
            return max(num_classes - len(meta['unseen_classes']), 0)
        return num_classes

    @staticmethod
    def _scalar_metrics(name: str, res: dict) -> Dict[str, float]:
        """The scalar metrics of a label set's result under their keys
        (``zsl/mAP``; un-prefixed for ``'multilabel'``)."""
        key_prefix = '' if name == 'multilabel' else f'{name}/'
        return {key_prefix + key: float(value) for key, value in res.items()
                if key.startswith(_SCALAR_KEYS)}


@METRICS.register_module()
class ZSLMultiLabelMetric(ZSLProtocolMetric):
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

    ``gt_score`` is in our convention only (1 / 0 / -1), checked on the way
    in; the scores are kept and ranked in the precision they come in (float64
    is not narrowed). The checks are those of
    :func:`~granzsl_mm.evaluation.functional.multilabel_zsl_metrics`.

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
        method: The method's name in the plots' titles (default: the run's
            experiment name, the config's file name without its time
            stamp).
        collect_device: ``'cpu'`` or ``'gpu'`` for gathering results.
        prefix: Optional prefix of all keys (e.g. ``'val-seen'``).
    """

    def __init__(self,
                 topk: Sequence[int] = (3, 5),
                 label_sets: Sequence[str] = ('zsl', 'gzsl'),
                 empty_class: str = 'zero',
                 drop_empty_images: bool = False,
                 ties: str = 'pessimistic',
                 out_dir: Optional[str] = None,
                 method: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(topk, label_sets, empty_class, drop_empty_images,
                         collect_device=collect_device, prefix=prefix)
        if ties not in TIE_RULES:
            raise ValueError(f'ties must be one of {TIE_RULES}, got {ties!r}')
        self.ties = ties
        self.out_dir = out_dir
        self.method = method

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
            # scores in the precision given (float64 is not narrowed: no
            # new ties); labels checked before the int8 cast (no wrapping)
            name = get('img_path') or f"sample {get('sample_idx')}"
            item = dict(pred_score=np.array(to_numpy(pred)),
                        gt_score=labels_as_int8(gt, f'gt_score of {name}'))
            check_scores(item['pred_score'], f'pred_score of {name}')
            zsl = get('pred_score_zsl')
            if zsl is not None:
                item['pred_score_zsl'] = np.array(to_numpy(zsl))
                check_scores(item['pred_score_zsl'],
                             f'pred_score_zsl of {name}')
            self.results.append(item)

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
            metrics.update(self._scalar_metrics(name, res))
        if self.out_dir is not None and per_class:
            from ..reports import write_reports
            write_reports(self.out_dir, per_class, arrays, self.dataset_meta,
                          prefix=self.prefix,
                          method=self.method or _experiment_name(),
                          drop_empty_images=self.drop_empty_images)
        return metrics
