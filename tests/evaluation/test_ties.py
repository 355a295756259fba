"""The ``ties`` option of the AP (golden values recorded from
RCNn's ``compute_AP`` / ``compute_F1`` and torch's CPU sort)."""
import numpy as np
import pytest
import torch

from granzsl_mm.evaluation.functional.multilabel_ap import (
    multilabel_zsl_metrics,
    per_class_ap,
    topk_hits,
)
from granzsl_mm.evaluation.metrics import ZSLMultiLabelMetric


def test_tied_ap_golden():
    # RCNn compute_AP on [.5, .5, .5, .2], labels [1, -1, 1, -1] (signed):
    # 0.8333 on CPU (sort keeps input order); pessimistic counts each tie
    # as ranked above.
    scores = np.array([[.5], [.5], [.5], [.2]])
    targets = np.array([[1], [0], [1], [0]])
    assert per_class_ap(scores, targets, ties='stable')[0] == pytest.approx(
        0.8333333730697632, abs=1e-7)
    assert per_class_ap(scores, targets)[0] == pytest.approx(2 / 3)


def test_stable_equals_a_stable_descending_sort():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random((300, 7)), 1)  # many ties
    targets = (rng.random((300, 7)) < 0.3).astype(np.int8)
    targets[rng.random((300, 7)) < 0.1] = -1
    ap = per_class_ap(scores, targets, ties='stable', chunk_size=3)
    for j in range(7):
        valid = targets[:, j] >= 0
        s = torch.from_numpy(scores[valid, j])
        order = s.sort(descending=True, stable=True)[1].numpy()
        hits = targets[valid, j][order] == 1
        prec = np.cumsum(hits) / np.arange(1, hits.size + 1)
        assert ap[j] == pytest.approx(prec[hits].mean())
    # without ties both rules agree
    distinct = rng.permutation(300 * 7).reshape(300, 7).astype(float)
    np.testing.assert_allclose(per_class_ap(distinct, targets),
                               per_class_ap(distinct, targets, ties='stable'))


def test_topk_and_f1_golden():
    # RCNn compute_F1, k=1: F1 0.4, P 0.5, R 1/3 (both rules).
    p = np.array([[.9, .1, .5], [.2, .8, .3]])
    lab = np.array([[1, 0, 1], [0, 0, 1]])
    for ties in ('pessimistic', 'stable'):
        m = multilabel_zsl_metrics(p, lab, topk=(1,), ties=ties)
        assert m['F1@1'] == pytest.approx(40.0)
        assert m['P@1'] == pytest.approx(50.0)
        assert m['R@1'] == pytest.approx(100 / 3)
    # Ties at the K-th place go to lower class indices; torch.topk on CPU
    # (golden) picks [1, 4, 6, 0, 3] for K=5 instead of [1, 4, 0, 2, 3].
    x = np.array([[.5, .9, .5, .5, .9, .1, .5]])
    positives = np.zeros_like(x, dtype=bool)
    positives[0, 2] = True
    assert topk_hits(x, positives, [5])[0, 0] == 1  # idx 2 is in ours
    assert 2 not in [1, 4, 6, 0, 3]  # ... not in torch's CPU pick


def test_metric_option():
    with pytest.raises(ValueError, match='ties'):
        ZSLMultiLabelMetric(ties='optimistic')
    with pytest.raises(ValueError, match='ties'):
        per_class_ap(np.zeros((2, 1)), np.ones((2, 1)), ties='x')
    metric = ZSLMultiLabelMetric(label_sets=('gzsl',), ties='stable', topk=(1,))
    assert 'ties=stable' in metric.protocol
    metric.dataset_meta = dict(seen_classes=['a'], unseen_classes=[])
    for s, t in ([.5, .2], [1, 0]), ([.5, .2], [0, 0]), ([.5, .2], [1, 0]):
        metric.process(None, [dict(pred_score=torch.tensor(s),
                                   gt_score=torch.tensor(t))])
    out = metric.evaluate(3)
    # class 0: scores .5 .5 .5, labels 1 0 1 -> stable AP (1 + 2/3) / 2
    assert out['gzsl/mAP'] == pytest.approx(100 * (1 + 2 / 3) / 2 / 2)


@pytest.mark.parametrize('kind', ['random', 'coarse ties', 'all equal',
                                  'sorted rows', 'float64 columns tied'])
@pytest.mark.parametrize('width', [400, 640, 7586])
def test_topk_hits_equal_a_full_sort(kind, width):
    """Top-K columns through the block pre-selection (wide rows, with and
    without a partial last block, and its fallback on heavy ties) and
    through np.partition (narrow rows) equal a full lexicographic sort by
    (score descending, class ascending)."""
    from granzsl_mm.evaluation.functional.multilabel_ap import _top_columns
    rng = np.random.default_rng(width)
    s = rng.random((37, width), dtype=np.float32)
    if kind == 'coarse ties':
        s = np.round(s * 40) / 40
    elif kind == 'all equal':
        s[:] = 0.5
    elif kind == 'sorted rows':
        s = np.ascontiguousarray(np.sort(s, axis=1)[:, ::-1])
    elif kind == 'float64 columns tied':
        s = s.astype(np.float64)
        s[:, ::7] = 1.0
    cols = np.broadcast_to(np.arange(width), s.shape)
    for k in (1, 5, 20):
        want = np.lexsort((cols, -s), axis=1)[:, :k]
        np.testing.assert_array_equal(_top_columns(s, k), want)
    positives = rng.random(s.shape) < 0.01
    want = np.lexsort((cols, -s), axis=1)[:, :20]
    got = topk_hits(s, positives, [3, 20])
    for i, k in enumerate((3, 20)):
        np.testing.assert_array_equal(
            got[i], np.take_along_axis(positives, want[:, :k], 1).sum(1))
