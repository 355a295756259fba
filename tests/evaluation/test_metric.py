"""Tests of ZSLMultiLabelMetric: label sets, reports, distributed gather."""
import csv
import json
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from granzsl_mm.evaluation.metrics import ZSLMultiLabelMetric

NUM_SEEN, NUM_UNSEEN = 6, 4
META = dict(classes=[f'c{i}' for i in range(NUM_SEEN + NUM_UNSEEN)],
            seen_classes=[f'c{i}' for i in range(NUM_SEEN)],
            unseen_classes=[f'c{i}' for i in range(NUM_SEEN,
                                                   NUM_SEEN + NUM_UNSEEN)],
            class_levels=[0, 1] * 5)


def _data(n=31, seed=0, with_zsl=False):
    rng = np.random.default_rng(seed)
    c = NUM_SEEN + NUM_UNSEEN
    scores = rng.random((n, c)).astype(np.float32)
    targets = (rng.random((n, c)) < 0.2).astype(np.int64)
    targets[rng.random((n, c)) < 0.05] = -1
    samples = []
    for i in range(n):
        s = dict(pred_score=torch.from_numpy(scores[i]),
                 gt_score=torch.from_numpy(targets[i]).float())
        if with_zsl:
            z = scores[i, NUM_SEEN:]
            s['pred_score_zsl'] = torch.from_numpy(np.exp(z) / np.exp(z).sum())
        samples.append(s)
    return scores, targets, samples


def _metric(**kwargs):
    metric = ZSLMultiLabelMetric(**kwargs)
    metric.dataset_meta = META
    return metric


def test_zsl_gzsl_slicing_and_per_set_field():
    scores, targets, samples = _data()
    metric = _metric(topk=(3, ))
    metric.process(None, samples)
    res = metric.evaluate(len(samples))
    zsl = multilabel_zsl_metrics(scores[:, NUM_SEEN:], targets[:, NUM_SEEN:],
                                 topk=(3, ))
    gzsl = multilabel_zsl_metrics(scores, targets, topk=(3, ))
    assert res['zsl/mAP'] == pytest.approx(zsl['mAP'])
    assert res['zsl/F1@3'] == pytest.approx(zsl['F1@3'])
    assert res['gzsl/mAP'] == pytest.approx(gzsl['mAP'])
    assert res['gzsl/img_R@3'] == pytest.approx(gzsl['img_R@3'])
    # The per-set field is preferred (it differs from the slice in ranking
    # across images, so the AP changes).
    _, _, samples_z = _data(with_zsl=True)
    zs = np.stack([s['pred_score_zsl'].numpy() for s in samples_z])
    metric = _metric(topk=(3, ), label_sets=('zsl', ))
    metric.process(None, samples_z)
    res_z = metric.evaluate(len(samples_z))
    ref = multilabel_zsl_metrics(zs, targets[:, NUM_SEEN:], topk=(3, ))
    assert res_z['zsl/mAP'] == pytest.approx(ref['mAP'])
    assert set(res_z) == {f'zsl/{k}' for k in
                          ('mAP', 'P@3', 'R@3', 'F1@3', 'img_P@3', 'img_R@3')}


def test_plain_multilabel_and_options():
    scores, targets, samples = _data(seed=2)
    metric = _metric(label_sets='multilabel', drop_empty_images=True,
                     empty_class='skip', prefix='val')
    metric.process(None, samples)
    res = metric.evaluate(len(samples))
    ref = multilabel_zsl_metrics(scores, targets, drop_empty_images=True,
                                 empty_class='skip')
    assert res['val/mAP'] == pytest.approx(ref['mAP'])
    assert res['val/img_P@5'] == pytest.approx(ref['img_P@5'])
    with pytest.raises(ValueError):
        ZSLMultiLabelMetric(label_sets=('bogus', ))


def test_reports_equal_metric(tmp_path):
    scores, targets, samples = _data(seed=4)
    metric = _metric(out_dir=str(tmp_path))
    metric.process(None, samples)
    res = metric.evaluate(len(samples))
    report = json.loads((tmp_path / 'per_class_ap.json').read_text())
    rows = [r for r in report['per_class'] if r['label_set'] == 'gzsl']
    aps = [0.0 if r['AP'] is None else r['AP'] for r in rows]
    assert np.mean(aps) == pytest.approx(res['gzsl/mAP'])
    zrows = [r for r in report['per_class'] if r['label_set'] == 'zsl']
    assert all(r['split'] == 'unseen' for r in zrows)
    assert np.mean([r['AP'] or 0.0 for r in zrows]) == pytest.approx(
        res['zsl/mAP'])
    with open(tmp_path / 'per_class_ap.csv') as f:
        csv_rows = list(csv.DictReader(f))
    assert len(csv_rows) == len(report['per_class'])
    csv_gzsl = [r for r in csv_rows if r['label_set'] == 'gzsl']
    assert [float(r['AP'] or 0) for r in csv_gzsl] == pytest.approx(aps)
    assert set(report['ap_by_level']['gzsl']) == {'0', '1'}
    # AP by level: the mean of the level's non-empty classes
    for level in (0, 1):
        vals = [r['AP'] for r in rows if r['level'] == level
                and r['AP'] is not None]
        assert report['ap_by_level']['gzsl'][str(level)]['mAP'] == \
            pytest.approx(np.mean(vals))
    for name in ('per_class_ap_zsl.png', 'per_class_ap_gzsl.png',
                 'pr_curve.png', 'ap_by_level.png'):
        assert (tmp_path / name).read_bytes()[:4] == b'\x89PNG'


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank, world, port, queue):
    import torch.distributed as dist
    from mmengine.dist import init_dist  # noqa: F401
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world)
    _, _, samples = _data(n=31)
    # DefaultSampler(shuffle=False) pads 31 -> 32 by repeating sample 0 and
    # deals the indices round-robin: rank r gets indices[r::world].
    indices = list(range(31)) + [0]
    shard = indices[rank::world]
    metric = _metric(topk=(3, 5))
    for i in range(0, 16, 4):
        metric.process(None, [samples[j] for j in shard[i:i + 4]])
    res = metric.evaluate(31)
    if rank == 0:
        queue.put(res)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_distributed_equals_single_process():
    _, _, samples = _data(n=31)
    metric = _metric(topk=(3, 5))
    metric.process(None, samples)
    single = metric.evaluate(31)
    ctx = mp.get_context('spawn')
    queue = ctx.SimpleQueue()
    mp.spawn(_worker, args=(2, _free_port(), queue), nprocs=2, join=True)
    dist_res = queue.get()
    assert dist_res == single
