"""SafeFormHook, AtomicCheckpointHook and the atomic file backend in a Runner,
with mmengine's own checkpoint loader (nothing installed or patched)."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from granzsl_mm import register_all_modules
from granzsl_mm.engine import (
    ATOMIC_BACKEND_ARGS,
    AtomicLocalBackend,
    RunnerSetupError,
    ensure_safe_checkpoint,
    prepare_test_cfg,
)
from granzsl_mm.utils.safe_checkpoint import SAFE_FORM_TAG, load_local_checkpoint
from granzsl_mm.utils.safe_loading import (
    install_safe_loading,
    safe_loading_installed,
    uninstall_safe_loading,
)


class _Data(torch.utils.data.Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randn(4, generator=g))


class _Net(BaseModel):

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, max_epochs, resume=False):
    return Runner(
        model=_Net(), work_dir=work_dir, default_scope='granzsl_mm',
        train_dataloader=dict(dataset=_Data(), batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(type='AtomicCheckpointHook', interval=1,
                            backend_args=ATOMIC_BACKEND_ARGS),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='SafeFormHook')], resume=resume,
        env_cfg=dict(dist_cfg=dict(backend='gloo')))


@pytest.fixture
def without_safe_loading():
    """Run with mmengine's own loader (a tool run in this process may have
    installed the opt-in one); restore the previous state afterwards."""
    was_installed = safe_loading_installed()
    uninstall_safe_loading()
    yield
    if was_installed:
        install_safe_loading()


@pytest.mark.slow
def test_runner_saves_safe_atomic_checkpoints_and_resumes(
        tmp_path, without_safe_loading):
    register_all_modules()
    assert CheckpointLoader._schemes[''] is not load_local_checkpoint
    work = str(tmp_path / 'work')
    runner = _runner(work, max_epochs=2)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'epoch_2.pth')
    # no staging folder or temporary file is left behind
    assert sorted(p for p in os.listdir(work) if p.startswith('.')) == []
    raw = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=True)
    assert raw['message_hub']['log_scalars']['train/loss'][SAFE_FORM_TAG] \
        == 'HistoryBuffer'
    resumed = _runner(work, max_epochs=3, resume=True)
    resumed.load_or_resume()  # mmengine's own loader, torch weights_only
    assert resumed.train_loop.epoch == 2
    buf = resumed.message_hub.get_scalar('train/loss')
    assert isinstance(buf, HistoryBuffer) and buf.current() == loss
    resumed.train()
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'epoch_3.pth')


def test_atomic_backend_keeps_the_old_file_when_a_write_fails(
        tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path), backend_args=ATOMIC_BACKEND_ARGS)
    assert isinstance(backend, AtomicLocalBackend)
    path = str(tmp_path / 'sub' / 'ckpt.pth')
    backend.put(b'old', path)
    backend.put_text('text', str(tmp_path / 'note.txt'))
    assert backend.get_text(str(tmp_path / 'note.txt')) == 'text'

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'new', path)
    monkeypatch.undo()
    assert backend.get(path) == b'old'
    assert os.listdir(tmp_path / 'sub') == ['ckpt.pth']


def test_ensure_safe_checkpoint_upgrades_plain_checkpoint_hooks():
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', interval=2)), custom_hooks=[]))
    ensure_safe_checkpoint(cfg)
    ensure_safe_checkpoint(cfg)  # idempotent
    assert cfg.default_hooks.checkpoint == dict(
        type='granzsl_mm.AtomicCheckpointHook', interval=2,
        backend_args=ATOMIC_BACKEND_ARGS)
    assert cfg.custom_hooks == [dict(type='granzsl_mm.SafeFormHook')]
    own = Config(dict(default_hooks=dict(checkpoint=dict(
        type='AtomicCheckpointHook', backend_args=dict(backend='petrel'))),
        custom_hooks=[dict(type='SafeFormHook')]))
    ensure_safe_checkpoint(own)
    assert own.default_hooks.checkpoint.backend_args == dict(backend='petrel')
    assert len(own.custom_hooks) == 1
    other = Config(dict(default_hooks=dict(checkpoint=dict(type='MyHook'))))
    ensure_safe_checkpoint(other)
    assert other.default_hooks.checkpoint == dict(type='MyHook')


def test_runner_setup_raises_instead_of_exiting(tmp_path):
    cfg = Config(dict(model=dict(type='X')))
    with pytest.raises(RunnerSetupError, match='needs tta_model and '
                       'tta_pipeline'):
        prepare_test_cfg(cfg, 'cfg.py', 'none', work_dir=str(tmp_path),
                         tta=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only message')
def test_amp_without_cuda_raises(tmp_path):
    from granzsl_mm.engine import prepare_train_cfg
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper')))
    with pytest.raises(RunnerSetupError, match='--amp needs a CUDA device'):
        prepare_train_cfg(cfg, 'cfg.py', work_dir=str(tmp_path), amp=True)
