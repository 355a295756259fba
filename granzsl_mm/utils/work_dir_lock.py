"""One run per work dir: an advisory lock on ``<work_dir>/.lock``.

Two trainings into the same work dir would both exit 0 while one run's
checkpoints replace the other's. :func:`lock_work_dir` takes
``fcntl.flock`` on ``<work_dir>/.lock`` (exclusive, non-blocking) and keeps
it for the life of the process: the operating system releases it when the
process ends, however it ends (a ``kill -9`` included), so a later
``--resume`` into the same folder works. A second process is refused with
the lock's path and the holder's pid; the same process may lock the folder
again (a training followed by a test in one Python session).

Standard library only.
"""
import os
import os.path as osp
from typing import Dict

__all__ = ['WorkDirInUseError', 'lock_work_dir', 'LOCK_NAME']

LOCK_NAME = '.lock'
_held: Dict[str, int] = {}  # real path of the lock file -> open descriptor


class WorkDirInUseError(RuntimeError):
    """Another process holds the work dir's lock."""


def lock_work_dir(work_dir: str) -> str:
    """Lock ``work_dir`` for this process (created if missing).

    Args:
        work_dir (str): The run's folder.

    Returns:
        str: The lock file's path.

    Raises:
        WorkDirInUseError: Another live process holds the lock.
    """
    import fcntl
    os.makedirs(work_dir, exist_ok=True)
    path = osp.realpath(osp.join(work_dir, LOCK_NAME))
    if path in _held:
        return path
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode('ascii', 'replace').strip() or '?'
        os.close(fd)
        raise WorkDirInUseError(
            f'{work_dir} is in use by another run (pid {holder}, lock '
            f'{path}); wait for it to end or pass another --work-dir.'
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode('ascii'))
    _held[path] = fd
    return path
