"""Two CPU processes (gloo) through tools/dist_train.sh and dist_test.sh."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from granzsl_mm.evaluation.prediction_dump import load_predictions
from tests.fixtures.run_tools import REPO, TINY_CFG, data_opts, free_port, run
from tests.fixtures.tiny_multilabel import make_tiny_multilabel

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = make_tiny_multilabel(str(tmp_path_factory.mktemp('tiny_ml')))
    work = str(tmp_path_factory.mktemp('dist_work'))
    run(['bash', 'tools/dist_train.sh', TINY_CFG, '2', '--work-dir', work,
         '--cfg-options', *data_opts(root), 'train_cfg.max_epochs=1'],
        env={'PORT': str(free_port())})
    return root, osp.join(work, 'epoch_1.pth')


def _test(root, ckpt, out, procs=None):
    # the work dir beside the dump (the default is ./work_dirs/<config>)
    opts = ['--out', out, '--work-dir', osp.splitext(out)[0] + '_work',
            '--cfg-options', *data_opts(root)]
    if procs is None:
        proc = run([sys.executable, 'tools/test.py', TINY_CFG, ckpt, *opts])
    else:
        proc = run(['bash', 'tools/dist_test.sh', TINY_CFG, ckpt,
                    str(procs), *opts], env={'PORT': str(free_port())})
    preds = load_predictions(out)  # the restricted reader: plain data only
    return proc.stdout + proc.stderr, preds


def test_dist_test_equals_single_process(trained, tmp_path):
    root, ckpt = trained
    log1, single = _test(root, ckpt, str(tmp_path / 'single.pkl'))
    log2, dist = _test(root, ckpt, str(tmp_path / 'dist.pkl'), procs=2)
    # 11 test images: the sampler pads rank 1 with a duplicate, which must be
    # trimmed, so the metric sees exactly len(dataset) results.
    assert len(single) == len(dist) == 11
    assert [p['sample_idx'] for p in dist] == list(range(11))
    scores = np.stack([np.asarray(p['pred_score']) for p in dist])
    np.testing.assert_array_equal(
        scores, np.stack([np.asarray(p['pred_score']) for p in single]))
    metric = [line for line in log2.splitlines() if 'Epoch(test)' in line]
    single_metric = [line for line in log1.splitlines()
                     if 'Epoch(test)' in line]
    map_dist = metric[-1].split('multi-label/mAP: ')[1].split()[0]
    assert map_dist == single_metric[-1].split('multi-label/mAP: ')[1].split()[0]
    # A duplicated sample would change the metric on this data.
    targets = np.stack([np.asarray(p['gt_score']) for p in dist])
    dup_s = np.concatenate([scores, scores[-1:]])
    dup_t = np.concatenate([targets, targets[-1:]])
    full = np.mean([average_precision_score(targets[:, c], scores[:, c])
                    for c in range(5)])
    dup = np.mean([average_precision_score(dup_t[:, c], dup_s[:, c])
                   for c in range(5)])
    assert abs(full - dup) > 1e-6
    assert float(map_dist) == pytest.approx(100 * full, abs=1e-3)


def test_two_node_launch_on_localhost(trained, tmp_path):
    root, _ = trained
    port = str(free_port())
    cmd = ['bash', 'tools/dist_train.sh', TINY_CFG, '1', '--work-dir',
           str(tmp_path / 'nodes'), '--no-validate', '--cfg-options',
           *data_opts(root), 'train_cfg.max_epochs=1']
    env = dict(os.environ, PYTHONPATH=REPO, NNODES='2', PYTHON=sys.executable,
               MASTER_ADDR='127.0.0.1', PORT=port, OMP_NUM_THREADS='1')
    node1 = subprocess.Popen(cmd, cwd=REPO, env=dict(env, NODE_RANK='1'),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        proc = run(cmd, env=dict(NNODES='2', NODE_RANK='0', PORT=port))
        out1, _ = node1.communicate(timeout=120)
    finally:
        node1.kill()
    assert node1.returncode == 0, out1.decode()[-3000:]
    assert 'Epoch(train) [1][3/3]' in proc.stdout + proc.stderr  # 24 / (2*4)
    assert osp.isfile(str(tmp_path / 'nodes' / 'epoch_1.pth'))
