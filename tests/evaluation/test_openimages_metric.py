"""OpenImagesZSLMetric: BiAM's protocol, streamed, equals the dense one."""
import os
import tempfile

import numpy as np
import pytest

from granzsl_mm.evaluation.functional.openimages_protocol import (
    openimages_metrics,
)
from granzsl_mm.evaluation.metrics import OpenImagesZSLMetric
from granzsl_mm.registry import METRICS
from tests.evaluation.test_openimages_protocol import SCORES, TARGETS

NUM_SEEN = 8  # of the 12 golden classes; class 5 (seen) is never annotated
META = dict(classes=[f'c{i}' for i in range(12)],
            seen_classes=[f'c{i}' for i in range(NUM_SEEN)],
            unseen_classes=[f'c{i}' for i in range(NUM_SEEN, 12)])
COLUMNS = dict(seen=slice(0, NUM_SEEN), zsl=slice(NUM_SEEN, 12),
               gzsl=slice(0, 12))


def _samples(zsl_scores=None):
    out = [dict(pred_score=SCORES[i], gt_score=TARGETS[i].astype(np.float32),
                sample_idx=i) for i in range(len(SCORES))]
    if zsl_scores is not None:
        for s, z in zip(out, zsl_scores):
            s['pred_score_zsl'] = z
    return out


def _run(metric, samples, order):
    metric.dataset_meta = META
    for a in range(0, len(order), 7):
        metric.process(None, [samples[i] for i in order[a:a + 7]])
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('ap', ['per_class', 'biam_pooled'])
@pytest.mark.parametrize('in_order', [False, True])
def test_equals_the_dense_protocol(tmp_path, monkeypatch, ap, in_order):
    """Every setting, both AP modes, any arrival order; the seen setting's
    F1 columns leave out the never-annotated class 5 (second pass over the
    score file, removed afterwards)."""
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp))
    order = np.arange(len(SCORES)) if in_order else \
        np.random.default_rng(2).permutation(len(SCORES))
    metric = OpenImagesZSLMetric(topk=(1, 3), label_sets=('zsl', 'gzsl',
                                                          'seen'),
                                 ap=ap, buffer_rows=5, chunk_rows=6)
    got = _run(metric, _samples(), order)
    keys = set()
    for name, cols in COLUMNS.items():
        ref = openimages_metrics(SCORES[:, cols], TARGETS[:, cols],
                                 topk=(1, 3), setting=name, ap=ap)
        for key in ('mAP', 'weighted_mAP', 'P@1', 'R@3', 'F1@1', 'F1@3'):
            assert got[f'{name}/{key}'] == pytest.approx(ref[key],
                                                         abs=1e-9), key
            keys.add(f'{name}/{key}')
    assert keys <= set(got)
    seen = openimages_metrics(SCORES[:, :NUM_SEEN], TARGETS[:, :NUM_SEEN],
                              topk=(1, 3), setting='seen')
    assert seen['num_classes'] == NUM_SEEN - 1  # the mask applied
    assert os.listdir(tmp) == []  # score files cleaned up


def test_separate_unseen_scores_and_no_score_file(tmp_path, monkeypatch):
    """ZSL scored on ``pred_score_zsl`` (as our models emit it); without
    the seen setting nothing is written to disk."""
    from granzsl_mm.evaluation.functional import score_file as mod

    def no_score_file(*args, **kwargs):
        raise AssertionError('a score file was created')

    monkeypatch.setattr(mod, 'create_npy', no_score_file)
    zsl = np.random.default_rng(5).random((len(SCORES), 4)).astype(
        np.float32)
    got = _run(OpenImagesZSLMetric(topk=(2, ), label_sets=('zsl', 'gzsl')),
               _samples(zsl), np.arange(len(SCORES)))
    ref = openimages_metrics(zsl, TARGETS[:, NUM_SEEN:], topk=(2, ),
                             setting='zsl')
    assert got['zsl/mAP'] == pytest.approx(ref['mAP'], abs=1e-9)
    assert got['zsl/F1@2'] == pytest.approx(ref['F1@2'], abs=1e-9)
    ref = openimages_metrics(SCORES, TARGETS, topk=(2, ), setting='gzsl')
    assert got['gzsl/mAP'] == pytest.approx(ref['mAP'], abs=1e-9)


def test_tensors_as_models_emit_them():
    """Torch tensors (``pred_score_zsl`` included), not only arrays."""
    import torch
    zsl = np.random.default_rng(6).random((len(SCORES), 4)).astype(
        np.float32)
    samples = [dict(pred_score=torch.from_numpy(s['pred_score']),
                    gt_score=torch.from_numpy(s['gt_score']),
                    pred_score_zsl=torch.from_numpy(s['pred_score_zsl']),
                    sample_idx=s['sample_idx']) for s in _samples(zsl)]
    got = _run(OpenImagesZSLMetric(topk=(2, )), samples,
               np.arange(len(SCORES)))
    ref = openimages_metrics(zsl, TARGETS[:, NUM_SEEN:], topk=(2, ),
                             setting='zsl')
    assert got['zsl/mAP'] == pytest.approx(ref['mAP'], abs=1e-9)


def test_registered_and_bad_options():
    assert METRICS.get('OpenImagesZSLMetric') is OpenImagesZSLMetric
    with pytest.raises(ValueError, match='label_sets'):
        OpenImagesZSLMetric(label_sets=('multilabel', ))
    with pytest.raises(ValueError, match='ap must be'):
        OpenImagesZSLMetric(ap='pooled')
    metric = OpenImagesZSLMetric(sparse_limit=10, buffer_rows=5)
    with pytest.raises(ValueError, match='sparse_limit=10'):
        _run(metric, _samples(), np.arange(len(SCORES)))


@pytest.mark.parametrize('config', ['clip_zeroshot_openimages.py',
                                    'mkt_openimages.py'])
def test_paper_configs_report_biam_pooled_map(config, tmp_path, monkeypatch):
    """The Open Images paper configs' metric gives BiAM's own numbers
    (``compute_AP`` as recorded from its code) as ``mAP``, and the true
    per-class AP beside it, each under its name. Classes 0-3 seen, 4-11
    unseen: ZSL is the golden unseen case, GZSL the golden GZSL case."""
    import os.path as osp

    from mmengine.config import Config

    from tests.evaluation.test_openimages_protocol import TOL
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    root = osp.join(osp.dirname(__file__), '..', '..', 'configs')
    cfg = Config.fromfile(osp.join(root, config))
    metric = METRICS.build(cfg.test_evaluator)
    metric.dataset_meta = dict(classes=META['classes'],
                               seen_classes=META['classes'][:4],
                               unseen_classes=META['classes'][4:])
    metric.process(None, _samples())
    got = metric.evaluate(len(SCORES))
    # golden: BiAM's evaluate_openimages.py pipelines (float32)
    biam = {'zsl/mAP': 0.4992247521877289,
            'zsl/weighted_mAP': 0.5767401456832886,
            'gzsl/mAP': 0.45519790053367615,
            'gzsl/weighted_mAP': 0.46157190203666687}
    for key, value in biam.items():
        assert got[key] == pytest.approx(100 * value, abs=TOL), key
        name, ap_key = key.split('/')
        assert got[f'{name}/{ap_key}_biam_pooled'] == got[key]
    for name, cols in (('zsl', slice(4, 12)), ('gzsl', slice(0, 12))):
        per_class = openimages_metrics(SCORES[:, cols], TARGETS[:, cols],
                                       topk=(10, 20), setting=name)
        for key in ('mAP', 'weighted_mAP'):
            assert got[f'{name}/{key}_per_class'] == pytest.approx(
                per_class[key], abs=1e-9)
        assert abs(got[f'{name}/mAP'] - per_class['mAP']) > 1  # not it
    # the per-class option alone still works from the command line
    alone = METRICS.build(dict(cfg.test_evaluator, ap='per_class'))
    alone.dataset_meta = metric.dataset_meta
    alone.process(None, _samples())
    res = alone.evaluate(len(SCORES))
    assert res['gzsl/mAP'] == pytest.approx(got['gzsl/mAP_per_class'])
    assert 'gzsl/mAP_per_class' not in res


def test_ap_modes_validated():
    for bad in ((), ('per_class', 'per_class'), ('biam_pooled', 'x')):
        with pytest.raises(ValueError, match='ap must be'):
            OpenImagesZSLMetric(ap=bad)
