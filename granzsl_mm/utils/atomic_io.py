"""Atomic file writes: a temporary file in the same folder, flushed, synced
and renamed over the target, so a reader (or a run killed mid-write) sees
the old file or the new one, never a truncated one."""
import os
import os.path as osp
import tempfile
from typing import Union

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'TMP_PREFIX']

TMP_PREFIX = '.tmp-'


def atomic_write_bytes(data: Union[bytes, memoryview], path: str,
                       suffix: str = '') -> None:
    """Write ``data`` to ``path`` atomically (temporary file + rename).

    Args:
        data (bytes | memoryview): The content.
        path (str): Destination file; its folder is created if missing.
        suffix (str): Suffix of the temporary file's name.
    """
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=suffix, dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_text(text: str, path: str, encoding: str = 'utf-8') -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename).

    Args:
        text (str): The content.
        path (str): Destination file.
        encoding (str): Text encoding.
    """
    atomic_write_bytes(text.encode(encoding), path)
