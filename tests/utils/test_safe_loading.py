"""The opt-in safe loader is idempotent and reversible; importing the
package (or registering its modules) changes nothing in mmengine."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from granzsl_mm.utils import (
    UnsafeCheckpointError,
    install_safe_loading,
    uninstall_safe_loading,
)
from granzsl_mm.utils.safe_checkpoint import load_local_checkpoint
from granzsl_mm.utils.safe_loading import safe_loading_installed

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_install_is_idempotent_and_uninstall_restores(tmp_path):
    original = CheckpointLoader._schemes['']
    assert original is not load_local_checkpoint
    try:
        install_safe_loading()
        install_safe_loading()
        assert safe_loading_installed()
        assert CheckpointLoader._schemes[''] is load_local_checkpoint
        path = str(tmp_path / 'np.pth')
        torch.save({'arr': np.arange(3)}, path)
        loaded = CheckpointLoader.load_checkpoint(path)
        np.testing.assert_array_equal(loaded['arr'], np.arange(3))
    finally:
        uninstall_safe_loading()
    assert CheckpointLoader._schemes[''] is original
    assert not safe_loading_installed()
    uninstall_safe_loading()  # a second call does nothing
    assert CheckpointLoader._schemes[''] is original
    # mmengine's own loader again: torch's weights-only refusal
    with pytest.raises(Exception) as err:
        CheckpointLoader.load_checkpoint(path)
    assert not isinstance(err.value, UnsafeCheckpointError)


_SNAPSHOT = r'''
import sys, torch
import mmengine.fileio, mmengine.hooks.checkpoint_hook, mmengine.runner
import mmengine.runner.checkpoint, mmengine.runner.runner
from mmengine.fileio.backends import backends
from mmengine.runner.checkpoint import CheckpointLoader

def snapshot():
    return {name: {k: id(v) for k, v in list(vars(mod).items())}
            for name, mod in list(sys.modules.items())
            if mod is not None and name.split('.')[0] in ('mmengine', 'torch')}

def rebound(before, after, exact, roots=('mmengine', 'torch')):
    bad = []
    for name, names in before.items():
        if name.split('.')[0] not in roots:
            continue
        now = after.get(name, {})
        for key, ident in names.items():
            if now.get(key) != ident:
                bad.append(f'{name}.{key}')
        if exact and set(now) != set(names):
            bad.append(f'{name}: {sorted(set(now) ^ set(names))}')
    return bad

state = lambda: (dict(CheckpointLoader._schemes), dict(backends),
                 list(torch.serialization.get_safe_globals()))
before, schemes, back, safe = snapshot(), *state()
import granzsl_mm
assert rebound(before, snapshot(), exact=True) == [], 'import granzsl_mm'
assert state() == (schemes, back, safe)
granzsl_mm.register_all_modules(init_default_scope=False)
# torch rebinds some of its own names when its sub-modules load (dynamo);
# mmengine keeps every binding, torch its list of safe globals.
assert rebound(before, snapshot(), exact=False, roots=('mmengine', )) == []
s, b, g = state()
assert s == schemes
# torch's own sub-modules may add their types; nobody else adds any
assert all(getattr(x, '__module__', '').startswith('torch')
           for x in set(g) - set(safe)), set(g) - set(safe)
assert set(b) - set(back) == {'granzsl_atomic'}, set(b) - set(back)
assert all(b[k] is v for k, v in back.items())
print('unchanged')
'''


@pytest.mark.slow
def test_import_granzsl_mm_changes_nothing_in_mmengine():
    proc = subprocess.run([sys.executable, '-c', _SNAPSHOT], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().endswith('unchanged')
