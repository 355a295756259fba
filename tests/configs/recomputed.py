"""What a config's tiny run reports, recomputed independently: its metrics
from the predictions it dumped (the functional metrics), its losses from the
inputs the loss modules received (the functional losses)."""
import copy
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest
import torch

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from granzsl_mm.evaluation.prediction_dump import load_predictions

__all__ = ['add_prediction_dump', 'dumped_arrays', 'zsl_metrics_from_dump',
           'assert_same_metrics', 'record_calls', 'window_means',
           'spml_losses', 'run_scalars', 'assert_openimages_metrics']


def add_prediction_dump(evaluator: Any, path: str) -> List[dict]:
    """The evaluator config(s) plus a ``SafeDumpResults`` writing ``path``.

    Args:
        evaluator: An evaluator config or a list of them.
        path: The dump (``.pth``).

    Returns:
        list[dict]: The evaluators, the dump last.
    """
    evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) \
        else [evaluator]
    return [copy.deepcopy(e) for e in evaluators] + [
        dict(type='SafeDumpResults', out_file_path=path)]


def dumped_arrays(path: str) -> Dict[str, np.ndarray]:
    """``pred_score``, ``gt_score`` (and ``pred_score_zsl`` where present)
    of a dump, stacked in sample order.

    Args:
        path: A prediction dump.

    Returns:
        dict[str, np.ndarray]: ``[N, C]`` arrays (float32 scores, int8
        labels), as the metrics store them.
    """
    preds = load_predictions(path)
    if all('sample_idx' in p for p in preds):
        preds = sorted(preds, key=lambda p: int(p['sample_idx']))
    out = {}
    for key, dtype in (('pred_score', np.float32), ('gt_score', np.int8),
                       ('pred_score_zsl', np.float32)):
        if all(key in p for p in preds):
            out[key] = np.stack([np.asarray(p[key], dtype=dtype)
                                 for p in preds])
    return out


def zsl_metrics_from_dump(path: str, evaluator: dict,
                          num_seen: Optional[int] = None) -> Dict[str, float]:
    """The keys and values a ``ZSLMultiLabelMetric`` config reports, from
    :func:`multilabel_zsl_metrics` on the dumped predictions.

    Args:
        path: The dump of the same run.
        evaluator: The ``ZSLMultiLabelMetric`` config of the run.
        num_seen: Seen classes (the first ones); needed for ``'zsl'`` /
            ``'seen'``.

    Returns:
        dict[str, float]: ``zsl/mAP``, ``gzsl/F1@3``, ... (un-prefixed for
        ``'multilabel'``).
    """
    assert evaluator['type'] == 'ZSLMultiLabelMetric', evaluator
    arrays = dumped_arrays(path)
    scores, targets = arrays['pred_score'], arrays['gt_score']
    num_classes = targets.shape[1]
    options = dict(topk=tuple(evaluator.get('topk', (3, 5))),
                   empty_class=evaluator.get('empty_class', 'zero'),
                   drop_empty_images=evaluator.get('drop_empty_images',
                                                   False),
                   ties=evaluator.get('ties', 'pessimistic'))
    out = {}
    for name in evaluator.get('label_sets', ('zsl', 'gzsl')):
        if name == 'zsl':
            assert num_seen is not None
            set_targets = targets[:, num_seen:]
            # methods that score the unseen set separately dump it
            set_scores = arrays.get('pred_score_zsl',
                                    scores[:, num_seen:])
        elif name == 'seen':
            set_scores, set_targets = scores[:, :num_seen], \
                targets[:, :num_seen]
        else:
            set_scores, set_targets = scores, targets
        assert set_scores.shape == set_targets.shape, name
        res = multilabel_zsl_metrics(set_scores, set_targets, **options)
        prefix = '' if name == 'multilabel' else f'{name}/'
        out.update({prefix + k: float(v) for k, v in res.items()
                    if k.startswith(('mAP', 'P@', 'R@', 'F1@', 'img_P@',
                                     'img_R@'))})
    assert num_classes and out
    return out


def assert_same_metrics(got: Dict[str, float],
                        expected: Dict[str, float],
                        keys: Optional[Sequence[str]] = None) -> None:
    """The run reported every expected key, with the recomputed value.

    Args:
        got: The run's metrics (other evaluators' keys may be there too).
        expected: The recomputed metrics.
        keys: Keys that must be among them (a check that the recomputation
            covers what the test cares about).
    """
    assert set(keys or ()) <= set(expected), (keys, sorted(expected))
    missing = sorted(set(expected) - set(got))
    assert not missing, (missing, sorted(got))
    for key, value in expected.items():
        # the same float32 arrays through the same functional metric: equal
        # up to the float64 -> json round trip
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def record_calls(monkeypatch, cls: type, method: str = 'forward'
                 ) -> List[Dict[str, Any]]:
    """Record every call of ``cls.method`` (for this test): the arguments
    and the result, detached copies.

    Args:
        monkeypatch: pytest's fixture (undone after the test).
        cls: E.g. a loss module class.
        method: The method to wrap.

    Returns:
        list[dict]: Filled as the method is called: ``args``, ``kwargs``,
        ``result``.
    """
    calls: List[Dict[str, Any]] = []
    original = getattr(cls, method)

    def copy_value(value):
        if isinstance(value, torch.Tensor):
            return value.detach().clone()
        if isinstance(value, (list, tuple)):
            return type(value)(copy_value(v) for v in value)
        return value

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(dict(args=copy_value(args),
                          kwargs={k: copy_value(v) for k, v in kwargs.items()},
                          result=copy_value(result)))
        return result

    monkeypatch.setattr(cls, method, wrapper)
    return calls


def window_means(values: Sequence[float], window: int = 10) -> List[float]:
    """What mmengine's ``LogProcessor`` logs for per-iteration values: the
    mean over the last ``window`` iterations (its default 10).

    Args:
        values: One value per training iteration.
        window: The smoothing window.

    Returns:
        list[float]: The logged value after each iteration.
    """
    return [float(np.mean(values[max(0, i + 1 - window):i + 1]))
            for i in range(len(values))]


def spml_losses(calls: List[Dict[str, Any]], loss_cfg: dict) -> List[float]:
    """The functional SPML loss of each recorded ``SPMLLoss`` call, with the
    config's mode, alpha, beta and weight (the module's defaults where the
    config leaves one out).

    Args:
        calls: :func:`record_calls` of ``SPMLLoss.forward``: logits, targets
            and any ``soft_targets``.
        loss_cfg: The ``SPMLLoss`` config of the run.

    Returns:
        list[float]: One loss per call.
    """
    import inspect

    from granzsl_mm.models.losses import SPMLLoss, spml_loss
    defaults = {k: p.default for k, p in
                inspect.signature(SPMLLoss).parameters.items()}
    opts = {k: loss_cfg.get(k, defaults[k]) for k in
            ('mode', 'alpha', 'beta', 'loss_weight')}
    out = []
    for call in calls:
        logits, targets = call['args'][:2]
        loss = spml_loss(logits.sigmoid(), targets.to(logits.dtype),
                         opts['mode'], alpha=opts['alpha'],
                         beta=opts['beta'],
                         soft_targets=call['kwargs'].get('soft_targets'))
        out.append(opts['loss_weight'] * float(loss))
    return out


def run_scalars(work_dir: str) -> List[dict]:
    """The records of ``vis_data/scalars.json`` of the latest run in a work
    folder.

    Args:
        work_dir: The run's work folder.

    Returns:
        list[dict]: One record per logged step.
    """
    import json
    import os
    import os.path as osp
    run = sorted(d for d in os.listdir(work_dir) if d[:1].isdigit())[-1]
    with open(osp.join(work_dir, run, 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


def assert_openimages_metrics(metrics: Dict[str, float], scores: np.ndarray,
                              zsl_scores: np.ndarray, targets: np.ndarray,
                              num_seen: int) -> None:
    """The Open Images paper configs' numbers equal ``openimages_metrics`` on
    the dumped predictions: ``mAP`` is BiAM's pooled AP, and each AP mode is
    also logged under its own name.

    Args:
        metrics: What the run logged (``zsl/...``, ``gzsl/...``).
        scores: ``[N, C]`` scores over all classes.
        zsl_scores: ``[N, C_unseen]`` scores of the unseen set.
        targets: ``[N, C]`` labels.
        num_seen: Seen classes (the unseen ones follow).
    """
    from granzsl_mm.evaluation.functional.openimages_protocol import (
        openimages_metrics,
    )
    for ap in ('biam_pooled', 'per_class'):
        expected = dict(
            zsl=openimages_metrics(zsl_scores, targets[:, num_seen:],
                                   topk=(10, 20), setting='zsl', ap=ap),
            gzsl=openimages_metrics(scores, targets, topk=(10, 20),
                                    setting='gzsl', ap=ap))
        for name, res in expected.items():
            keys = [('mAP', f'mAP_{ap}'), ('weighted_mAP',
                                           f'weighted_mAP_{ap}')]
            if ap == 'biam_pooled':
                keys += [('mAP', 'mAP'), ('weighted_mAP', 'weighted_mAP'),
                         ('F1@10', 'F1@10'), ('F1@20', 'F1@20')]
            for key, got in keys:
                assert metrics[f'{name}/{got}'] == pytest.approx(
                    float(res[key]), abs=1e-4), (name, got)
