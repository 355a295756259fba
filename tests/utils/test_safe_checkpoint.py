"""Checkpoints load with weights-only semantics; crafted pickles are refused.

The run's path is exercised as mmengine's Runner takes it: SafeFormHook
before saving, mmengine's ``save_checkpoint`` through the atomic backend,
mmengine's ``CheckpointLoader`` with the opt-in safe loader installed.
"""
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from granzsl_mm.engine import ATOMIC_BACKEND_ARGS, SafeFormHook
from granzsl_mm.utils import (
    UnsafeCheckpointError,
    install_safe_loading,
    safe_torch_load,
    set_checkpoint_trust,
    uninstall_safe_loading,
)
from granzsl_mm.utils.safe_checkpoint import from_safe_form, to_safe_form


@pytest.fixture(scope='module', autouse=True)
def _safe_loading():
    install_safe_loading()
    yield
    uninstall_safe_loading()


class _RunsCode:
    """Unpickling this object would call ``os.system``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_message_hub_round_trip_and_plain_weights_only(tmp_path):
    hub = MessageHub.get_instance('safe-ckpt-test')
    for v in (1.0, 2.5, 4.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('iter', 3)
    hub.update_info('arr', np.arange(4, dtype=np.float32))
    ckpt = dict(meta=dict(epoch=1, np_scalar=np.float64(0.5)),
                state_dict=OrderedDict(w=torch.ones(2)),
                message_hub=hub.state_dict())
    path = str(tmp_path / 'ckpt.pth')
    SafeFormHook().before_save_checkpoint(None, ckpt)  # as the Runner calls it
    mmengine_checkpoint.save_checkpoint(ckpt, path,
                                        backend_args=ATOMIC_BACKEND_ARGS)
    # The file itself is loadable by a bare weights-only torch.load.
    raw = torch.load(path, weights_only=True)
    assert raw['meta']['np_scalar'] == 0.5
    loaded = CheckpointLoader.load_checkpoint(path)
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == pytest.approx(7.5 / 3)
    assert buf.current() == 4.0
    np.testing.assert_array_equal(loaded['message_hub']['runtime_info']['arr'],
                                  np.arange(4, dtype=np.float32))
    assert loaded['message_hub']['runtime_info']['arr'].dtype == np.float32
    new_hub = MessageHub.get_instance('safe-ckpt-test-2')
    new_hub.load_state_dict(loaded['message_hub'])
    assert new_hub.get_scalar('train/loss').current() == 4.0


def test_safe_form_is_inverse():
    obj = {'a': [np.int64(3), (np.arange(3), 'x')],
           'b': np.array(['u', 'v']), 'c': np.array([{'k': 1}], dtype=object)}
    back = from_safe_form(to_safe_form(obj))
    assert back['a'][0] == 3
    np.testing.assert_array_equal(back['a'][1][0], np.arange(3))
    np.testing.assert_array_equal(back['b'], np.array(['u', 'v']))
    assert back['c'][0] == {'k': 1}


def test_foreign_numpy_arrays_load(tmp_path):
    path = str(tmp_path / 'np.pth')
    torch.save({'arr': np.arange(5), 'scalar': np.float32(1.5)}, path)
    loaded = safe_torch_load(path)
    np.testing.assert_array_equal(loaded['arr'], np.arange(5))
    # The allow-list lives in a context only, never process-wide.
    assert not any('numpy' in str(g)
                   for g in torch.serialization.get_safe_globals())


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {'w': torch.zeros(1)},
                'payload': _RunsCode(str(marker))}, path)
    with pytest.raises(UnsafeCheckpointError) as err:
        CheckpointLoader.load_checkpoint(path)
    msg = str(err.value)
    assert 'posix.system' in msg or 'os.system' in msg
    assert '--trust-checkpoint' in msg
    assert not marker.exists()


def test_mmengine_native_history_buffer_pickle_is_refused(tmp_path):
    """A checkpoint written by plain mmengine pickles HistoryBuffer objects;
    it is refused (naming the class) unless the user opts in."""
    path = str(tmp_path / 'plain.pth')
    buf = HistoryBuffer([1.0, 2.0], [1, 1])
    with open(path, 'wb') as f:
        torch.save({'message_hub': {'log_scalars': {'loss': buf}}}, f,
                   pickle_module=pickle)
    with pytest.raises(UnsafeCheckpointError, match='HistoryBuffer'):
        safe_torch_load(path)
    set_checkpoint_trust(True)
    try:
        loaded = safe_torch_load(path)
    finally:
        set_checkpoint_trust(False)
    assert loaded['message_hub']['log_scalars']['loss'].current() == 2.0
