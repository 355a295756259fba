"""Tests of the functional ZSL/GZSL metrics against independent code."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics, per_class_ap


def _random(n=200, c=15, seed=0, unknown=0.0):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, c))
    targets = (rng.random((n, c)) < 0.15).astype(np.int64)
    targets[rng.random((n, c)) < unknown] = -1
    return scores, targets


def test_per_class_ap_matches_sklearn_with_unknowns():
    scores, targets = _random(unknown=0.1)
    ours = per_class_ap(scores, targets)
    for c in range(scores.shape[1]):
        valid = targets[:, c] >= 0
        ref = average_precision_score(targets[valid, c], scores[valid, c])
        assert ours[c] == pytest.approx(ref, abs=1e-12)


def test_matches_mmpretrain_metrics():
    from mmpretrain.evaluation.metrics import AveragePrecision, MultiLabelMetric
    scores, targets = _random(seed=1, unknown=0.1)
    res = multilabel_zsl_metrics(scores, targets, topk=(3, 5))
    pred = torch.from_numpy(scores)
    tgt = torch.from_numpy(targets)
    ref_map = AveragePrecision.calculate(pred, tgt, average='macro')
    assert res['mAP'] == pytest.approx(float(ref_map), abs=1e-4)
    # MMPretrain's top-K counts -1 as negative, like ours.
    for k in (3, 5):
        p, r, f1, _ = MultiLabelMetric.calculate(
            pred, (tgt == 1).long(), topk=k, average='micro')
        assert res[f'P@{k}'] == pytest.approx(float(p), abs=1e-4)
        assert res[f'R@{k}'] == pytest.approx(float(r), abs=1e-4)
        assert res[f'F1@{k}'] == pytest.approx(float(f1), abs=1e-4)


def test_hand_computed_unknowns_empty_class_and_empty_image():
    scores = np.array([[0.9, 0.1, 0.3],
                       [0.8, 0.7, 0.2],
                       [0.2, 0.6, 0.4],
                       [0.5, 0.0, 0.1]])
    targets = np.array([[1, 0, 0],
                        [-1, 1, 0],
                        [1, 0, 0],
                        [0, 0, 0]])  # image 3 has no positive
    # class 0: valid rows 0,2,3 -> order 0.9(+),0.5(-),0.2(+): (1+2/3)/2
    # class 1: order .7(+) -> 1 ; class 2: empty -> 0 (or skipped)
    ap0 = (1 + 2 / 3) / 2
    res = multilabel_zsl_metrics(scores, targets, topk=(1, ),
                                 return_per_class=True)
    assert np.allclose(res['per_class_AP'][:2], [100 * ap0, 100.0])
    assert np.isnan(res['per_class_AP'][2])
    assert res['mAP'] == pytest.approx(100 * (ap0 + 1) / 3)
    assert res['num_empty_classes'] == 1
    skip = multilabel_zsl_metrics(scores, targets, topk=(1, ),
                                  empty_class='skip')
    assert skip['mAP'] == pytest.approx(100 * (ap0 + 1) / 2)
    # top-1: rows pick classes 0,0,1,0 -> hits 1,0,0,0; 3 GT positives.
    assert res['P@1'] == pytest.approx(100 / 4)
    assert res['R@1'] == pytest.approx(100 / 3)
    assert res['F1@1'] == pytest.approx(100 * 2 * .25 * (1 / 3) /
                                        (.25 + 1 / 3))
    assert res['img_P@1'] == pytest.approx(100 / 4)
    assert res['img_R@1'] == pytest.approx(100 * (1 + 0 + 0) / 3)
    drop = multilabel_zsl_metrics(scores, targets, topk=(1, ),
                                  drop_empty_images=True)
    assert drop['num_images'] == 3
    # class 0 now: 0.9(+), 0.2(+) -> AP 1
    assert drop['mAP'] == pytest.approx(100 * (1 + 1 + 0) / 3)
    assert drop['P@1'] == pytest.approx(100 / 3)


def test_tie_rules():
    # AP: a positive tied with a negative is ranked below it.
    scores = np.array([[0.5], [0.5], [0.1]])
    targets = np.array([[1], [0], [1]])
    assert per_class_ap(scores, targets)[0] == pytest.approx(
        (1 / 2 + 2 / 3) / 2)
    # invariant to row order
    assert per_class_ap(scores[[1, 0, 2]], targets[[1, 0, 2]])[0] == \
        pytest.approx((1 / 2 + 2 / 3) / 2)
    # top-K: equal scores -> lower class index wins.
    s = np.array([[0.3, 0.3, 0.3, 0.1]])
    assert multilabel_zsl_metrics(s, np.array([[0, 1, 0, 0]]),
                                  topk=(1, ))['P@1'] == 0.0
    assert multilabel_zsl_metrics(s, np.array([[1, 0, 0, 0]]),
                                  topk=(1, ))['P@1'] == 100.0
    assert multilabel_zsl_metrics(s, np.array([[0, 1, 0, 0]]),
                                  topk=(2, ))['P@2'] == 50.0


def test_k_larger_than_classes_and_torch_input():
    scores, targets = _random(n=20, c=4, seed=3)
    res = multilabel_zsl_metrics(torch.from_numpy(scores).half(),
                                 torch.from_numpy(targets), topk=(5, ))
    assert res['R@5'] == pytest.approx(100.0)


@pytest.mark.parametrize('bad', ['nan', 'inf', 'label', 'shape', 'ndim'])
def test_errors(bad):
    scores, targets = _random(n=10, c=3)
    if bad == 'nan':
        scores[0, 0] = np.nan
    elif bad == 'inf':
        scores[1, 1] = np.inf
    elif bad == 'label':
        targets[0, 0] = 2
    elif bad == 'shape':
        targets = targets[:, :2]
    else:
        scores = scores[0]
    with pytest.raises(ValueError):
        multilabel_zsl_metrics(scores, targets)
    with pytest.raises(ValueError):
        multilabel_zsl_metrics(*_random(n=5, c=3), empty_class='bad')


def test_chunking_does_not_change_result():
    scores, targets = _random(n=100, c=37, seed=5, unknown=0.05)
    a = per_class_ap(scores, targets, chunk_size=64)
    b = per_class_ap(scores, targets, chunk_size=5)
    assert np.array_equal(a, b)


def _brute_force_ap(scores, targets):
    """Pessimistic-tie AP by explicit pairwise counting (independent)."""
    out = []
    for c in range(scores.shape[1]):
        valid = targets[:, c] >= 0
        s, t = scores[valid, c], targets[valid, c]
        pos = s[t == 1]
        if pos.size == 0:
            out.append(np.nan)
            continue
        prec = [(pos >= p).sum() / (s >= p).sum() for p in pos]
        out.append(np.mean(prec))
    return np.array(out)


def test_heavy_ties_unknowns_threads_and_chunks():
    rng = np.random.default_rng(7)
    scores = np.round(rng.random((300, 23)), 1).astype(np.float32)  # ties
    targets = (rng.random((300, 23)) < 0.2).astype(np.int64)
    targets[rng.random((300, 23)) < 0.1] = -1
    targets[:, 5] = np.where(targets[:, 5] == 1, 0, targets[:, 5])  # empty
    ref = _brute_force_ap(scores, targets)
    for threads, chunk in ((1, 64), (3, 4)):
        ours = per_class_ap(scores, targets, chunk_size=chunk,
                            num_threads=threads)
        np.testing.assert_allclose(ours, ref, rtol=1e-12, equal_nan=True)
    assert np.isnan(ours[5])


def test_topk_tie_spanning_past_k():
    # the K-th score is tied over classes beyond K: lowest indices win,
    # whichever order torch.topk returns them in
    scores = np.array([[0.9, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1]] * 2)
    scores[1] = scores[1][::-1]
    for row, winners in ((0, {0, 1, 2}), (1, {6, 1, 2})):
        for cls in range(7):
            tgt = np.zeros((1, 7), dtype=np.int64)
            tgt[0, cls] = 1
            res = multilabel_zsl_metrics(scores[row:row + 1], tgt, topk=(3, ))
            assert res['P@3'] == pytest.approx(100 / 3 if cls in winners
                                               else 0.0)


def test_inputs_not_modified_any_memory_order():
    scores, targets = _random(n=50, c=9, seed=11, unknown=0.1)
    ref = multilabel_zsl_metrics(scores, targets)
    for order in ('C', 'F'):
        s = np.array(scores, order=order)
        t = np.array(targets.astype(np.int8), order=order)
        s0, t0 = s.copy(), t.copy()
        assert multilabel_zsl_metrics(s, t) == pytest.approx(ref)
        assert np.array_equal(s, s0) and np.array_equal(t, t0)


@pytest.mark.parametrize('dtype', [np.int8, np.int64, np.float32])
def test_labels_outside_the_three_values_are_named(dtype):
    """Every label dtype, int8's wrap-around check included, names the
    values outside {1, 0, -1}."""
    from granzsl_mm.evaluation.functional import validate_scores_targets
    scores = np.zeros((4, 3), np.float32)
    ok = np.array([[1, 0, -1]] * 4, dtype=dtype)
    assert validate_scores_targets(scores, ok)[1].dtype == np.int8
    for value in (2, -2, 127, -128):
        bad = ok.copy()
        bad[2, 1] = value
        with pytest.raises(ValueError, match=rf'found \[{value}(\.0)?\]'):
            validate_scores_targets(scores, bad)
