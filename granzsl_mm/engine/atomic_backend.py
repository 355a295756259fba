"""An mmengine file backend that writes local files atomically.

``CheckpointHook(backend_args=ATOMIC_BACKEND_ARGS)`` hands it every checkpoint
mmengine serialises: the bytes go to a temporary file in the target folder,
are flushed and synced, then renamed over the target, so a run killed while
saving leaves the previous checkpoint and no truncated file. Reading,
listing and removing are :class:`mmengine.fileio.LocalBackend`'s.
"""
from typing import Union

from mmengine.fileio import LocalBackend, register_backend
from mmengine.fileio.backends import backends

from granzsl_mm.utils.atomic_io import atomic_write_bytes, atomic_write_text

__all__ = ['AtomicLocalBackend', 'ATOMIC_BACKEND', 'ATOMIC_BACKEND_ARGS']

#: The backend's name in mmengine's file-backend registry.
ATOMIC_BACKEND = 'granzsl_atomic'
#: ``backend_args`` that select it (CheckpointHook, ``save_checkpoint``).
ATOMIC_BACKEND_ARGS = dict(backend=ATOMIC_BACKEND)


class AtomicLocalBackend(LocalBackend):
    """:class:`~mmengine.fileio.LocalBackend` whose writes are atomic."""

    def put(self, obj: bytes, filepath: Union[str, 'object']) -> None:
        """Write bytes to ``filepath`` atomically (temporary file + rename).

        Args:
            obj (bytes): Data to write.
            filepath (str or Path): Destination; its folder is created.
        """
        atomic_write_bytes(obj, str(filepath), suffix='.pth')

    def put_text(self, obj: str, filepath: Union[str, 'object'],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically.

        Args:
            obj (str): Text to write.
            filepath (str or Path): Destination.
            encoding (str): Text encoding.
        """
        atomic_write_text(obj, str(filepath), encoding=encoding)


if backends.get(ATOMIC_BACKEND) is not AtomicLocalBackend:
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
