"""Test of tools/analysis_tools/eval_scores.py on a prediction dump."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from granzsl_mm.evaluation.functional import multilabel_zsl_metrics
from granzsl_mm.evaluation.prediction_dump import save_predictions

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'analysis_tools',
                'eval_scores.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('eval_scores', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_scores_dump(tmp_path, capsys):
    rng = np.random.default_rng(0)
    scores = rng.random((40, 8)).astype(np.float32)
    targets = (rng.random((40, 8)) < 0.3).astype(np.float32)
    dump = [dict(pred_score=torch.from_numpy(s), gt_score=torch.from_numpy(t),
                 sample_idx=i) for i, (s, t) in enumerate(zip(scores, targets))]
    path = tmp_path / 'preds.pth'  # what tools/test.py --out writes
    save_predictions(dump, str(path))
    tool = _load_tool()
    res = tool.main([str(path), '--num-seen', '5', '--drop-empty-images',
                     '--topk', '3', '--out-dir', str(tmp_path / 'rep')])
    ref = multilabel_zsl_metrics(scores[:, 5:], targets[:, 5:], topk=(3, ),
                                 drop_empty_images=True)
    assert res['zsl/mAP'] == pytest.approx(ref['mAP'])
    assert res['zsl/F1@3'] == pytest.approx(ref['F1@3'])
    assert 'zsl/mAP' in capsys.readouterr().out
    assert (tmp_path / 'rep' / 'per_class_ap.csv').exists()
    with pytest.raises(ValueError):
        tool.main([str(path), '--num-seen', '9'])
