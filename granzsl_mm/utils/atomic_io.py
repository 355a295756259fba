"""Atomic file writes: every finished file the package writes goes
through here.

The content goes to a temporary file in the target folder, which is
flushed and synced, given its mode and renamed over the target; then the
folder is synced so that the rename itself survives a crash. A reader, or
a run killed mid-write, sees the old file or the new one, never a
truncated one. On an exception the temporary file is removed and the
target is untouched.

Mode: ``tempfile.mkstemp`` creates its file with 0600; the file gets the
mode a plain ``open(path, 'w')`` gives a *new* file (``0o666 & ~umask``),
so checkpoints, vocabularies and exports stay readable by the group when
the umask says so (an existing target's own mode is not kept).

Writers: :func:`atomic_open` (a binary stream), :func:`atomic_path` (a
temporary path, for writers that take a file name), and on top of them
:func:`atomic_write_bytes`, :func:`atomic_write_text` and
:func:`atomic_savefig`. Not here: files filled in place by offset or as
memory maps (caches, score files), and append-only journals.
"""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator, Union

__all__ = ['atomic_write_bytes', 'atomic_write_text', 'atomic_open',
           'atomic_path', 'atomic_savefig', 'default_file_mode',
           'TMP_PREFIX']

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


def _sync_folder(folder: str) -> None:
    """Sync a folder's entries (a rename in it) to disk, where the system
    allows opening a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # e.g. file systems that refuse fsync on a folder
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str, suffix: str = '') -> Iterator[str]:
    """A temporary path that replaces ``path`` atomically when the block
    ends, for writers that take a file name (``torch.onnx.export``).

    The temporary file lives in the target folder (``suffix`` lets a
    writer that reads the format from the name see the right one); after
    the block it is synced, given mode :func:`default_file_mode` and
    renamed over ``path``, and the folder is synced; on an exception it is
    removed and ``path`` is untouched.

    Args:
        path (str): Destination file; its folder is created if missing.
        suffix (str): Suffix of the temporary file's name.

    Yields:
        str: The temporary path to write.
    """
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=suffix, dir=dirname)
    os.close(fd)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # the writer may have re-created the file: set the mode last
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, path)
        _sync_folder(dirname)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_open(path: str, suffix: str = '') -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` atomically when the block ends.

    The temporary file lives in the target folder, gets mode
    :func:`default_file_mode`, is flushed and synced, then renamed over
    ``path``, and the folder is synced; on an exception it is removed and
    ``path`` is untouched.

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
        _sync_folder(dirname)
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


def atomic_savefig(fig: Any, path: str, **kwargs) -> str:
    """Save a matplotlib figure to ``path`` atomically.

    The format comes from the extension, as ``fig.savefig(path)`` reads
    it; a path without one gets the default format's extension appended,
    as matplotlib does.

    Args:
        fig: A ``matplotlib.figure.Figure``.
        path (str): Destination file.
        **kwargs: Passed on to ``fig.savefig`` (``dpi``, ``bbox_inches``).

    Returns:
        str: The written path.
    """
    fmt = osp.splitext(path)[1][1:].lower()
    if not fmt:
        fmt = fig.canvas.get_default_filetype()
        path = f'{path}.{fmt}'
    with atomic_open(path, suffix=f'.{fmt}') as f:
        fig.savefig(f, format=fmt, **kwargs)
    return path
