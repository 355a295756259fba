"""tools/train.py, --resume and tools/test.py end to end on CPU."""
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmpretrain.evaluation import AveragePrecision

import granzsl_mm  # noqa: F401
from tests.fixtures.run_tools import TINY_CFG, data_opts, python
from tests.fixtures.tiny_multilabel import make_tiny_multilabel


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return make_tiny_multilabel(str(tmp_path_factory.mktemp('tiny_ml')))


def _last_iter(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = torch.load(f.read().strip(), weights_only=True)
    return ckpt['meta']['epoch'], ckpt['meta']['iter']


@pytest.mark.slow
def test_train_resume_and_test(tiny_data, tmp_path):
    work = str(tmp_path / 'work')
    opts = ['--cfg-options', *data_opts(tiny_data)]
    python('tools/train.py', TINY_CFG, '--work-dir', work, *opts,
           'train_cfg.max_epochs=2')
    assert _last_iter(work) == (2, 12)  # 24 images, batch 4
    proc = python('tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
                  *opts, 'train_cfg.max_epochs=3')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 2, iter: 12' in log
    assert 'Restored Python/NumPy/torch RNG states' in log
    assert 'Epoch(train) [3][6/6]' in log
    assert _last_iter(work) == (3, 18)

    out = str(tmp_path / 'preds.pkl')
    metrics_out = str(tmp_path / 'metrics.json')
    python('tools/test.py', TINY_CFG, osp.join(work, 'epoch_3.pth'), '--out',
           out, '--work-dir', str(tmp_path / 'test'), '--show-dir', 'vis',
           *opts)
    assert len(os.listdir(tmp_path / 'test' / 'vis')) == 11
    with open(out, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 11 and preds[0]['pred_score'].shape == (5, )
    python('tools/test.py', TINY_CFG, osp.join(work, 'epoch_3.pth'), '--out',
           metrics_out, '--out-item', 'metrics', '--work-dir',
           str(tmp_path / 'test2'), *opts)
    with open(metrics_out) as f:
        logged = json.load(f)['multi-label/mAP']
    # the same checkpoint on the same images as the dump: its mean AP
    scores = np.stack([np.asarray(p['pred_score']) for p in preds])
    targets = np.stack([np.asarray(p['gt_score']) for p in preds])
    expected = AveragePrecision.calculate(scores, targets).item()
    assert logged == pytest.approx(expected, abs=1e-3)


@pytest.mark.slow
def test_resume_from_explicit_path(tiny_data, tmp_path):
    work = str(tmp_path / 'work')
    opts = ['--cfg-options', *data_opts(tiny_data)]
    python('tools/train.py', TINY_CFG, '--work-dir', work, *opts,
           'train_cfg.max_epochs=1', '--no-validate')
    proc = python('tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
                  osp.join(work, 'epoch_1.pth'), *opts,
                  'train_cfg.max_epochs=2', '--no-validate')
    assert 'resumed epoch: 1, iter: 6' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tta_without_tta_model_is_a_clear_error(tiny_data, tmp_path):
    proc = python('tools/test.py', TINY_CFG, 'missing.pth', '--tta',
                  '--work-dir', str(tmp_path), '--cfg-options',
                  *data_opts(tiny_data), check=False)
    assert proc.returncode != 0
    assert 'needs tta_model and tta_pipeline' in proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only message')
def test_amp_on_cpu_is_a_clear_error(tiny_data, tmp_path):
    proc = python('tools/train.py', TINY_CFG, '--amp', '--work-dir',
                  str(tmp_path), '--cfg-options', *data_opts(tiny_data),
                  check=False)
    assert proc.returncode != 0
    assert '--amp needs a CUDA device' in proc.stderr


def test_checkpoint_none_loads_nothing_and_a_path_is_loaded(tmp_path):
    # tools/test.py CONFIG none: zero-shot configs have nothing to load.
    from mmengine.config import Config

    from granzsl_mm.engine import prepare_test_cfg
    for given, expected in (('none', None), ('None', None),
                            ('w/epoch_3.pth', 'w/epoch_3.pth')):
        cfg = Config(dict(load_from='old.pth'))
        prepare_test_cfg(cfg, TINY_CFG, given, work_dir=str(tmp_path))
        assert cfg.load_from == expected
