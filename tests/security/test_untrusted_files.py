"""Downloaded pickles and prediction dumps are read
without running code from them."""
import importlib.util
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools',
                'eval_scores.py')


class _Evil:
    """Unpickling this calls ``os.system`` (writes a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'echo ran > {self.marker}', ))


def _crafted(path, marker, payload):
    with open(path, 'wb') as f:
        pickle.dump(payload(_Evil(str(marker))), f)
    return str(path)


def _tool():
    spec = importlib.util.spec_from_file_location('eval_scores', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_crafted_dump_is_refused_and_safe_dumps_work(tmp_path):
    marker = tmp_path / 'marker'
    dump = _crafted(tmp_path / 'preds.pkl', marker,
                    lambda evil: [dict(pred_score=np.zeros(3), gt_score=evil)])
    with pytest.raises(pickle.UnpicklingError, match='posix.system|os.system'):
        _tool().main([dump, '--num-seen', '1'])
    assert not marker.exists()

    from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
    from granzsl_mm.evaluation.prediction_dump import save_predictions
    rng = np.random.default_rng(0)
    scores = rng.random((30, 6)).astype(np.float32)
    targets = (rng.random((30, 6)) < 0.4).astype(np.float32)
    ref = multilabel_zsl_metrics(scores[:, 2:], targets[:, 2:], topk=(3, ))
    rows = [dict(pred_score=torch.from_numpy(s), gt_score=torch.from_numpy(t),
                 sample_idx=i, img_path=f'{i}.jpg')
            for i, (s, t) in enumerate(zip(scores, targets))]
    for name in ('preds.pth', 'preds.npz'):
        save_predictions(rows, str(tmp_path / name))
        res = _tool().main([str(tmp_path / name), '--num-seen', '2',
                            '--topk', '3'])
        assert res['zsl/mAP'] == pytest.approx(ref['mAP'])
    # a plain-data pickle (NumPy arrays) is still read
    with open(tmp_path / 'plain.pkl', 'wb') as f:
        pickle.dump([dict(pred_score=s, gt_score=t)
                     for s, t in zip(scores, targets)], f)
    res = _tool().main([str(tmp_path / 'plain.pkl'), '--num-seen', '2',
                        '--topk', '3'])
    assert res['zsl/mAP'] == pytest.approx(ref['mAP'])


def test_crafted_nuswide_label_pickle_is_refused(tmp_path):
    from granzsl_mm.datasets.zsl.nuswide_metadata import read_label_pickle
    marker = tmp_path / 'marker'
    path = _crafted(tmp_path / 'test_unseen_labels.pkl', marker,
                    lambda evil: {'a.jpg': evil})
    with pytest.raises(pickle.UnpicklingError) as info:
        read_label_pickle(path, 3)
    assert 'system' in str(info.value) and path in str(info.value)
    assert not marker.exists()
    good = tmp_path / 'ok.pkl'
    good.write_bytes(pickle.dumps({'x/a.jpg': np.array([1, -1, 0])}))
    keys, labels = read_label_pickle(str(good), 3)
    assert labels.tolist() == [[1, 0, -1]]


def test_crafted_class_split_pickle_is_refused(tmp_path):
    from granzsl_mm.datasets import read_class_split
    marker = tmp_path / 'marker'
    path = _crafted(tmp_path / 'cls_ids.pickle', marker,
                    lambda evil: {'train': evil, 'test': [1]})
    with pytest.raises(pickle.UnpicklingError) as info:
        read_class_split(path, ['a', 'b', 'c'])
    assert 'system' in str(info.value)
    assert not marker.exists()
    good = tmp_path / 'ok.pickle'
    good.write_bytes(pickle.dumps({'train': np.array([0, 2]),
                                   'test': np.array([1])}))
    assert read_class_split(str(good), ['a', 'b', 'c']) == (['a', 'c'], ['b'])
