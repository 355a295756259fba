"""Atomic file writes: a temporary file in the same folder, flushed, synced
and renamed over the target, so a reader (or a run killed mid-write) sees
the old file or the new one, never a truncated one.

``tempfile.mkstemp`` creates its file with mode 0600; the writers here give
the file the mode a plain ``open(path, 'w')`` would (``0o666 & ~umask``),
so checkpoints, vocabularies and exports stay readable by the group when
the umask says so. Every atomic writer of the package goes through
:func:`atomic_write_bytes` (or :func:`atomic_open`)."""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Union

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'atomic_open',
           'default_file_mode', 'TMP_PREFIX']

TMP_PREFIX = '.tmp-'


def default_file_mode() -> int:
    """The mode ``open(path, 'w')`` gives a new file: ``0o666 & ~umask``."""
    try:  # Linux: read it without changing it (no window for other threads)
        with open('/proc/self/status') as f:
            umask = next(int(line.split()[1], 8) for line in f
                         if line.startswith('Umask:'))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)  # read it by setting it, then put it back
        os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str, suffix: str = '') -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` atomically when the block ends.

    The temporary file lives in the target folder, gets mode
    :func:`default_file_mode`, is flushed and synced, then renamed over
    ``path``; on an exception it is removed and ``path`` is untouched.

    Args:
        path (str): Destination file; its folder is created if missing.
        suffix (str): Suffix of the temporary file's name.

    Yields:
        BinaryIO: The open temporary file.
    """
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=suffix, dir=dirname)
    try:
        os.fchmod(fd, default_file_mode())
        with os.fdopen(fd, 'wb') as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(data: Union[bytes, memoryview], path: str,
                       suffix: str = '') -> None:
    """Write ``data`` to ``path`` atomically (temporary file + rename).

    Args:
        data (bytes | memoryview): The content.
        path (str): Destination file; its folder is created if missing.
        suffix (str): Suffix of the temporary file's name.
    """
    with atomic_open(path, suffix) as f:
        f.write(data)


def atomic_write_text(text: str, path: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename).

    Args:
        text (str): The content.
        path (str): Destination file.
        encoding (str): Text encoding.
    """
    atomic_write_bytes(text.encode(encoding), path)
