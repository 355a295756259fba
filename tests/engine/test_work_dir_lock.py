"""One run per work dir: a second process is refused while the first is
alive, and the lock goes with the process however it ends."""
import os
import signal
import subprocess
import sys
import time

import pytest

from granzsl_mm.utils.work_dir_lock import WorkDirInUseError, lock_work_dir
from tests.fixtures.run_tools import REPO, TINY_CFG, run_tool_in_process

_HOLD = ('import sys, time\n'
         'from granzsl_mm.utils.work_dir_lock import lock_work_dir\n'
         'lock_work_dir(sys.argv[1])\n'
         'print("locked", flush=True)\n'
         'time.sleep(120)\n')


@pytest.fixture
def held(tmp_path):
    """A work dir locked by a live child process."""
    work = str(tmp_path / 'work')
    child = subprocess.Popen([sys.executable, '-c', _HOLD, work], cwd=REPO,
                             stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=REPO))
    assert child.stdout.readline().strip() == 'locked'
    yield work, child
    if child.poll() is None:
        child.kill()
    child.wait()


@pytest.mark.slow
def test_second_process_refused_until_the_first_dies(held):
    work, child = held
    with pytest.raises(WorkDirInUseError,
                       match=rf'in use by another run \(pid {child.pid}'):
        lock_work_dir(work)
    os.kill(child.pid, signal.SIGKILL)  # no clean-up runs
    child.wait()
    deadline = time.time() + 10
    while True:  # the kernel drops the lock with the process
        try:
            path = lock_work_dir(work)
            break
        except WorkDirInUseError:
            assert time.time() < deadline
            time.sleep(0.05)
    assert path.endswith(os.path.join('work', '.lock'))
    assert lock_work_dir(work) == path  # the same process may lock again


@pytest.mark.slow
def test_train_py_refuses_a_work_dir_in_use(held, capsys):
    work, child = held
    code, err = run_tool_in_process('train.py', [TINY_CFG, '--work-dir', work],
                                    capsys)
    assert code == 2
    assert f'pid {child.pid}' in err and '.lock' in err
    assert 'Traceback' not in err
