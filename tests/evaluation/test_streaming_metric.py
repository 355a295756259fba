"""The streaming (score-file) metric gives the in-memory metric's numbers."""
import json
import os
import sys
import tempfile

import numpy as np
import pytest

from granzsl_mm.evaluation.functional.npy_files import (
    create_npy,
    read_npy_rows,
    transpose_npy,
    write_npy_rows,
)
from granzsl_mm.evaluation.metrics.streaming_zsl_metric import (
    COUNT_AHEAD,
    StreamingZSLMultiLabelMetric,
)
from granzsl_mm.evaluation.metrics.zsl_multilabel_metric import (
    ZSLMultiLabelMetric,
)
from granzsl_mm.registry import METRICS
from tests.fixtures.run_tools import free_port, run

SIZE, NUM_CLASSES = 11, 8
META = dict(classes=[f'c{i}' for i in range(NUM_CLASSES)],
            seen_classes=[f'c{i}' for i in range(5)],
            unseen_classes=[f'c{i}' for i in range(5, NUM_CLASSES)])


def make_samples():
    """11 images x 8 classes; scores on a coarse grid (ties), one image
    without positives, one class without positives."""
    rng = np.random.default_rng(3)
    scores = np.round(rng.random((SIZE, NUM_CLASSES)) * 4) / 4
    targets = rng.choice([1, 0, -1], size=(SIZE, NUM_CLASSES),
                         p=[0.35, 0.45, 0.2])
    targets[4] = np.where(targets[4] == 1, 0, targets[4])
    targets[:, 6] = np.where(targets[:, 6] == 1, -1, targets[:, 6])
    return [dict(pred_score=scores[i].astype(np.float32),
                 gt_score=targets[i].astype(np.float32), sample_idx=i)
            for i in range(SIZE)]


def _in_memory(samples, **kw):
    metric = ZSLMultiLabelMetric(**kw)
    metric.dataset_meta = META
    metric.process(None, samples)
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('drop', [False, True])
@pytest.mark.parametrize('empty_class', ['zero', 'skip'])
@pytest.mark.parametrize('ap_path', ['sparse', 'columns'])
@pytest.mark.parametrize('in_order', [False, True])
def test_equals_in_memory_metric(tmp_path, drop, empty_class, ap_path,
                                 in_order):
    samples = make_samples()
    kw = dict(topk=(1, 3), label_sets=('zsl', 'gzsl', 'seen', 'multilabel'),
              drop_empty_images=drop, empty_class=empty_class)
    expected = _in_memory(samples, **kw)
    # sparse_limit=0: AP from the transposed file in column chunks;
    # in dataset order the append files become the score files in place
    metric = StreamingZSLMultiLabelMetric(
        **kw, chunk_rows=3, chunk_cols=2, buffer_rows=4,
        score_dir=str(tmp_path), keep_files=True,
        sparse_limit=0 if ap_path == 'columns' else 1 << 20)
    metric.dataset_meta = META
    perm = np.arange(SIZE) if in_order else \
        np.random.default_rng(0).permutation(SIZE)  # any arrival order
    for a in range(0, SIZE, 4):
        metric.process(None, [samples[i] for i in perm[a:a + 4]])
    got = metric.evaluate(SIZE)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    # the score file is indexed by sample_idx
    scores = np.load(tmp_path / 'scores.npy', mmap_mode='r')
    np.testing.assert_array_equal(
        scores, np.stack([s['pred_score'] for s in samples]))
    targets = np.load(tmp_path / 'targets.npy')
    np.testing.assert_array_equal(
        targets, np.stack([s['gt_score'] for s in samples]).astype(np.int8))
    assert (tmp_path / 'scores_T.npy').exists() == (ap_path == 'columns')


def _files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder)
                  for d, _, fs in os.walk(folder) for f in fs)


def _fed(metric, perm, samples=None):
    metric.dataset_meta = META
    samples = make_samples() if samples is None else samples
    for a in range(0, SIZE, 4):
        metric.process(None, [samples[i] for i in perm[a:a + 4]])
    return metric


@pytest.mark.parametrize('in_order', [False, True])
def test_sparse_labels_write_no_score_file(tmp_path, monkeypatch, in_order):
    """While the known labels fit ``sparse_limit`` and no file is to be
    kept, nothing is written to disk: AP needs only the known labels."""
    from granzsl_mm.evaluation.functional import score_file as mod
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))

    def no_score_file(*args, **kwargs):
        raise AssertionError('a score file was created')

    monkeypatch.setattr(mod, 'create_npy', no_score_file)
    kw = dict(topk=(1, 3), label_sets=('zsl', 'gzsl', 'seen'))
    perm = np.arange(SIZE) if in_order else \
        np.random.default_rng(0).permutation(SIZE)
    metric = _fed(StreamingZSLMultiLabelMetric(**kw, buffer_rows=4), perm)
    assert _files_under(tmp) == []
    got = metric.evaluate(SIZE)
    expected = _in_memory(make_samples(), **kw)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    assert _files_under(tmp) == []


@pytest.mark.parametrize('in_order', [False, True])
def test_spill_when_labels_outgrow_sparse_limit(tmp_path, monkeypatch,
                                                in_order):
    """The known labels pass ``sparse_limit`` at the second buffer (30,
    then 55 of them > 40): the rows kept so far go to the append file and
    AP comes from the column path, with the in-memory metric's numbers."""
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    kw = dict(topk=(1, 3), label_sets=('zsl', 'gzsl', 'seen'),
              drop_empty_images=True)
    perm = np.arange(SIZE) if in_order else \
        np.random.default_rng(0).permutation(SIZE)
    samples = make_samples()
    known = [int((samples[i]['gt_score'] >= 0).sum()) for i in perm]
    assert sum(known[:4]) <= 40 < sum(known[:8])
    metric = StreamingZSLMultiLabelMetric(**kw, buffer_rows=4, chunk_cols=3,
                                          sparse_limit=40)
    metric.dataset_meta = META
    metric.process(None, [samples[i] for i in perm[:4]])
    assert _files_under(tmp) == []
    for a in range(4, SIZE, 4):
        metric.process(None, [samples[i] for i in perm[a:a + 4]])
    metric._wait_counting()  # the last chunk is counted in the background
    assert len(_files_under(tmp)) == 2  # scores.bin, targets.bin
    got = metric.evaluate(SIZE)
    expected = _in_memory(samples, **kw)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    assert _files_under(tmp) == []


@pytest.mark.parametrize('in_order', [False, True])
def test_kept_file_and_labels_past_sparse_limit(tmp_path, in_order):
    """With ``keep_files`` every row is in the file from the start; once
    the known labels pass ``sparse_limit`` the part kept in memory is
    dropped (AP on it alone would be wrong) and AP takes the column path,
    with the in-memory metric's numbers."""
    kw = dict(topk=(1, 3), label_sets=('zsl', 'gzsl', 'seen'))
    perm = np.arange(SIZE) if in_order else \
        np.random.default_rng(0).permutation(SIZE)
    metric = StreamingZSLMultiLabelMetric(
        **kw, buffer_rows=4, chunk_cols=3, sparse_limit=40,
        keep_files=True, score_dir=str(tmp_path))
    got = _fed(metric, perm).evaluate(SIZE)
    expected = _in_memory(make_samples(), **kw)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    assert (tmp_path / 'scores_T.npy').exists()


@pytest.mark.parametrize('ap_path', ['sparse', 'columns'])
def test_separate_unseen_scores_equal_in_memory_metric(tmp_path, ap_path):
    """Samples carrying ``pred_score_zsl`` (the unseen set scored on its
    own, as our ZSL models emit it): ZSL uses those scores, as in memory."""
    samples = make_samples()
    rng = np.random.default_rng(4)
    for s in samples:
        s['pred_score_zsl'] = np.round(rng.random(3) * 4).astype(
            np.float32) / 4
    kw = dict(topk=(1, 3), label_sets=('zsl', 'gzsl', 'seen'))
    expected = _in_memory(samples, **kw)
    plain = _in_memory([plain_sample(s) for s in samples], **kw)
    assert expected['zsl/mAP'] != plain['zsl/mAP']  # the scores matter
    metric = StreamingZSLMultiLabelMetric(
        **kw, buffer_rows=4, chunk_cols=2, score_dir=str(tmp_path),
        sparse_limit=0 if ap_path == 'columns' else 1 << 20)
    got = _fed(metric, np.random.default_rng(0).permutation(SIZE),
               samples).evaluate(SIZE)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    metric.process(None, samples[:1])
    with pytest.raises(ValueError, match='pred_score_zsl'):
        metric.process(None, [plain_sample(samples[1])])


def plain_sample(sample):
    return {k: v for k, v in sample.items() if k != 'pred_score_zsl'}


def test_sparse_ap_equals_per_class_ap():
    """Known-entry AP == per_class_ap on the dense matrix, ties included,
    and a dense label set without a column reader is refused."""
    from granzsl_mm.evaluation.functional.multilabel_ap import per_class_ap
    from granzsl_mm.evaluation.functional.streaming import (
        sparse_class_ap,
        stream_zsl_metrics,
    )
    rng = np.random.default_rng(5)
    scores = (np.round(rng.random((200, 9)) * 8) / 8).astype(np.float32)
    targets = rng.choice([1, 0, -1], size=(200, 9), p=[.1, .1, .8])
    targets[:, 3] = -1  # a class without known entries
    rr, cc = np.nonzero(targets >= 0)
    got = sparse_class_ap(cc, scores[rr, cc], targets[rr, cc], 9)
    np.testing.assert_array_equal(got, per_class_ap(scores, targets))
    assert np.isnan(got[3])

    def rows(a, b):
        return scores[a:b], targets[a:b]

    with pytest.raises(ValueError, match='sparse_limit'):
        stream_zsl_metrics(rows, None, 200, (0, 9), sparse_limit=10)
    res = stream_zsl_metrics(rows, None, 200, (0, 9), chunk_rows=7)
    assert res['ap_path'] == 'sparse'


def test_registered_and_errors(tmp_path):
    assert METRICS.get('StreamingZSLMultiLabelMetric') is \
        StreamingZSLMultiLabelMetric
    metric = StreamingZSLMultiLabelMetric(score_dir=str(tmp_path))
    metric.dataset_meta = META
    samples = make_samples()
    metric.process(None, samples[:5] + samples[4:5])  # index 4 twice
    with pytest.raises(ValueError, match=r'rows \[4, 5'):
        metric.evaluate(6)
    bad = dict(make_samples()[0], gt_score=np.full(8, 0.5, np.float32))
    metric = StreamingZSLMultiLabelMetric(buffer_rows=1)
    metric.dataset_meta = META
    metric.process(None, [bad])  # counted in the background ...
    with pytest.raises(ValueError, match=r'found \[0\.5\]'):
        # ... its error raised once COUNT_AHEAD more chunks are queued,
        # not only at the end (0.5 not cast to 0)
        for sample in make_samples()[1:1 + COUNT_AHEAD]:
            metric.process(None, [sample])
    metric = StreamingZSLMultiLabelMetric(buffer_rows=4)
    metric.dataset_meta = META
    metric.process(None, [bad])
    with pytest.raises(ValueError, match=r'found \[0\.5\]'):
        metric.evaluate(1)
    with pytest.raises(ValueError, match='sample_idx'):
        metric.process(None, [dict(pred_score=np.zeros(8),
                                   gt_score=np.zeros(8))])


def test_npy_helpers(tmp_path):
    path = str(tmp_path / 'a.npy')
    create_npy(path, (5, 3), np.float32)
    write_npy_rows(path, np.array([4, 0, 1]),
                   np.arange(9, dtype=np.float32).reshape(3, 3))
    arr = np.load(path)
    np.testing.assert_array_equal(arr[[4, 0, 1]],
                                  np.arange(9).reshape(3, 3))
    assert (arr[2:4] == 0).all()
    transpose_npy(path, str(tmp_path / 't.npy'), chunk_bytes=20)
    np.testing.assert_array_equal(np.load(tmp_path / 't.npy'), arr.T)
    np.testing.assert_array_equal(read_npy_rows(path, 1, 3), arr[1:3])


@pytest.mark.slow
@pytest.mark.parametrize('sparse_limit', [1 << 26, 40])
def test_two_gloo_processes_equal_one(tmp_path, sparse_limit):
    """Two ranks equal one; at ``sparse_limit=40`` rank 1 (43 known
    labels) spills to the score file while rank 0 (38) stays sparse."""
    out = str(tmp_path / 'dist.json')
    run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', str(free_port()),
         os.path.join('tests', 'fixtures', 'streaming_metric_worker.py'),
         out, str(sparse_limit)], timeout=120)
    with open(out) as f:
        dist = json.load(f)
    expected = _in_memory(make_samples(), topk=(1, 3),
                          label_sets=('zsl', 'gzsl', 'seen'))
    assert dist.keys() == expected.keys()
    for key in expected:
        assert dist[key] == pytest.approx(expected[key], abs=1e-9), key


@pytest.mark.parametrize('streaming', [False, True])
def test_signed_or_fractional_labels_are_refused(tmp_path, streaming):
    """Both metrics refuse labels in the papers' signed convention (+1 / -1,
    no 0: read as ours, every known label would be a positive) and labels
    that are not whole (a 0.5 cast to int8 would silently be a 0)."""
    rng = np.random.default_rng(1)
    signed = [dict(pred_score=rng.random(8).astype(np.float32),
                   gt_score=rng.choice([1.0, -1.0], 8).astype(np.float32),
                   sample_idx=i) for i in range(6)]
    half = [dict(s, gt_score=np.where(s['gt_score'] > 0, 0.5, 0.0)
                 .astype(np.float32)) for s in signed]

    def metric():
        m = StreamingZSLMultiLabelMetric(buffer_rows=4) if streaming else \
            ZSLMultiLabelMetric()
        m.dataset_meta = META
        return m

    m = metric()
    m.process(None, signed)
    with pytest.raises(ValueError, match='signed convention'):
        m.evaluate(len(signed))
    with pytest.raises(ValueError, match=r'0\.5'):
        m = metric()
        m.process(None, half)
        m.evaluate(len(half))


def test_class_score_order_is_lexsort():
    """The sparse AP path's one-key sort is ``np.lexsort((scores, cols))``
    on float32, with -0.0 equal to 0.0 (a tie), tiny, huge and infinite
    values."""
    from granzsl_mm.evaluation.functional.streaming import _class_score_order
    rng = np.random.default_rng(1)
    for scale in (1.0, 1e-40, 1e30):
        m = 3000
        cols = rng.integers(0, 50, m).astype(np.int32)
        scores = (rng.standard_normal(m) * scale).astype(np.float32)
        scores[rng.random(m) < 0.2] = 0.0
        scores[rng.random(m) < 0.1] = -0.0
        scores[rng.random(m) < 0.05] = np.inf
        scores[rng.random(m) < 0.05] = -np.inf
        np.testing.assert_array_equal(_class_score_order(cols, scores),
                                      np.lexsort((scores, cols)))
