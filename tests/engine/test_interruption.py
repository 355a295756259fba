"""Nothing is lost on interruption: atomic checkpoints and exact resumption."""
import glob
import os.path as osp
import signal
import sys

import pytest
import torch

import granzsl_mm  # noqa: F401
from tests.fixtures.run_tools import TINY_CFG, data_opts, python, run
from tests.fixtures.tiny_multilabel import make_tiny_multilabel

pytestmark = pytest.mark.slow

KILLER = 'tests/fixtures/train_and_kill.py'


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory):
    return make_tiny_multilabel(str(tmp_path_factory.mktemp('tiny_ml')))


def _killed(mode, when, work, root, epochs):
    proc = run([sys.executable, KILLER, mode, str(when), TINY_CFG,
                '--work-dir', work, '--cfg-options', *data_opts(root),
                f'train_cfg.max_epochs={epochs}'], check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]


def _pointer(work):
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_kill_while_writing_checkpoint_leaves_no_truncated_file(
        tiny_data, tmp_path):
    work = str(tmp_path / 'work')
    _killed('save', 2, work, tiny_data, epochs=3)  # dies saving epoch_2.pth
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))
    assert glob.glob(osp.join(work, '.tmp-*')) == [] or all(
        osp.getsize(p) < 100 for p in glob.glob(osp.join(work, '.tmp-*')))
    assert _pointer(work) == osp.join(work, 'epoch_1.pth')
    torch.load(_pointer(work), weights_only=True)  # intact
    proc = python('tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
                  '--cfg-options', *data_opts(tiny_data),
                  'train_cfg.max_epochs=2')
    assert 'resumed epoch: 1, iter: 6' in proc.stdout + proc.stderr


def test_kill_while_writing_pointer_keeps_previous_pointer(tiny_data,
                                                           tmp_path):
    work = str(tmp_path / 'work')
    _killed('pointer', 2, work, tiny_data, epochs=3)
    assert _pointer(work) == osp.join(work, 'epoch_1.pth')
    torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)


def test_sigkill_and_resume_matches_uninterrupted_run(tiny_data, tmp_path):
    opts = ['--cfg-options', *data_opts(tiny_data), 'train_cfg.max_epochs=3']
    ref = str(tmp_path / 'ref')
    proc = python('tools/train.py', TINY_CFG, '--work-dir', ref, *opts)
    ref_log = proc.stdout + proc.stderr
    work = str(tmp_path / 'work')
    _killed('iter', 15, work, tiny_data, epochs=3)  # epoch 3, iteration 3
    assert _pointer(work) == osp.join(work, 'epoch_2.pth')
    proc = python('tools/train.py', TINY_CFG, '--work-dir', work, '--resume',
                  *opts)
    log = proc.stdout + proc.stderr
    a = torch.load(osp.join(ref, 'epoch_3.pth'), weights_only=True)
    b = torch.load(osp.join(work, 'epoch_3.pth'), weights_only=True)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key

    def final_map(text):
        return [line.split('multi-label/mAP: ')[1].split()[0]
                for line in text.splitlines() if 'Epoch(val) [3]' in line
                and 'mAP' in line][-1]

    assert final_map(log) == final_map(ref_log)
