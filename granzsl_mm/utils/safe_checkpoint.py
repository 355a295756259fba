"""The safe checkpoint codec: a tensor-only form of mmengine checkpoints and
a weights-only loader (no framework integration here).

mmengine 0.10.7 pickles its ``message_hub`` (``HistoryBuffer`` objects holding
NumPy arrays) into every checkpoint and loads with a bare ``torch.load``, which
torch >= 2.6 runs with ``weights_only=True`` and so refuses its own files.
Allow-listing what those pickles reference is not an option: they reach
``getattr``, and a chained ``getattr`` reaches anything. Instead:

* :func:`to_safe_form` turns every ``HistoryBuffer`` and NumPy object into a
  tagged dict of tensors and plain numbers, which a bare
  ``torch.load(weights_only=True)`` accepts; :func:`from_safe_form` undoes it.
  :func:`atomic_torch_save` writes the safe form atomically.
* :func:`safe_torch_load` loads with ``weights_only=True`` and rebuilds the
  objects. NumPy arrays written by other tools load through a scoped
  :func:`torch.serialization.safe_globals` context (never the process-wide
  list). Any other pickled global is refused with an error naming it;
  :func:`set_checkpoint_trust` (``--trust-checkpoint`` in our tools) opts in
  to full unpickling for files the user trusts. A caller that throws some
  entries away (a converter keeping only the weights of a file that also
  pickles its optimizer and scheduler objects) names their globals in
  ``discard_globals``: each is read as an empty ``OrderedDict``, nothing of
  it constructed or called.

Where this meets mmengine: :class:`granzsl_mm.engine.SafeFormHook` converts
checkpoints on save and load, :class:`granzsl_mm.engine.AtomicCheckpointHook`
and the ``granzsl_atomic`` file backend write them atomically, and
:func:`granzsl_mm.utils.install_safe_loading` (opt-in) routes mmengine's
local loader through :func:`safe_torch_load`.
"""
import io
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np
import torch

from .atomic_io import atomic_write_bytes
from .torchscript_archive import is_torchscript_archive

__all__ = [
    'set_checkpoint_trust', 'to_safe_form', 'from_safe_form',
    'safe_torch_load', 'load_local_checkpoint', 'atomic_torch_save',
    'UnsafeCheckpointError', 'NotACheckpointError', 'SAFE_FORM_TAG'
]

SAFE_FORM_TAG = _TAG = '__granzsl_mm_type__'
_TRUST_ENV = 'GRANZSL_MM_TRUST_CHECKPOINT'
_trust_checkpoints = False


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint references globals that are not safe to unpickle."""


class NotACheckpointError(ValueError):
    """A file is no PyTorch checkpoint at all (neither a zip archive nor a
    pickle: a text file, an image, a truncated download)."""


def _torch_file_head(f: Any) -> bytes:
    """The first bytes of a path's file (b'' for a file-like object)."""
    if not isinstance(f, (str, os.PathLike)) or not osp.isfile(f):
        return b''
    with open(f, 'rb') as handle:
        return handle.read(2)


def _refuse_non_torch_file(f: Any) -> None:
    """Raise :class:`NotACheckpointError` when ``f``'s bytes are no torch
    file: a zip archive starts ``PK``, a (legacy) pickle with the PROTO
    opcode 0x80."""
    head = _torch_file_head(f)
    if head and not (head.startswith(b'PK') or head[:1] == b'\x80'):
        raise NotACheckpointError(
            f'{f}: not a PyTorch checkpoint (neither a zip archive nor a '
            f'pickle; it starts with {head!r}): a text file, an image or a '
            'cut-off download? Pass the .pth / .pt file itself.')


def set_checkpoint_trust(trust: bool = True) -> None:
    """Allow (or forbid again) full unpickling of checkpoints.

    Only for files from a source you trust: unpickling can run any code.

    Args:
        trust (bool): Whether to load with ``weights_only=False``.
    """
    global _trust_checkpoints
    _trust_checkpoints = bool(trust)


def _trusted() -> bool:
    return _trust_checkpoints or os.environ.get(_TRUST_ENV, '') == '1'


def to_safe_form(obj: Any) -> Any:
    """Recursively replace HistoryBuffer and NumPy objects by tagged dicts.

    Args:
        obj (Any): A checkpoint or any part of it.

    Returns:
        Any: The same structure holding only tensors, numbers, strings and
        containers, which ``torch.load(weights_only=True)`` accepts.
    """
    from mmengine.logging import HistoryBuffer
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {_TAG: 'HistoryBuffer', 'max_length': int(obj.max_length),
                'log_history': to_safe_form(np.asarray(logs)),
                'count_history': to_safe_form(np.asarray(counts))}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return {_TAG: 'object_array', 'shape': list(obj.shape),
                    'items': [to_safe_form(x) for x in obj.ravel().tolist()]}
        return {_TAG: 'ndarray', 'dtype': obj.dtype.str,
                'data': torch.from_numpy(np.ascontiguousarray(obj).copy())
                if obj.dtype.kind in 'biuf' else obj.tolist()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_safe_form(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_safe_form(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(to_safe_form(v) for v in obj)
    return obj


def from_safe_form(obj: Any) -> Any:
    """Inverse of :func:`to_safe_form`.

    Args:
        obj (Any): A loaded checkpoint or any part of it.

    Returns:
        Any: The structure with HistoryBuffer and NumPy objects rebuilt.
    """
    if isinstance(obj, dict) and obj.get(_TAG) is not None:
        kind = obj[_TAG]
        if kind == 'HistoryBuffer':
            from mmengine.logging import HistoryBuffer
            return HistoryBuffer(
                from_safe_form(obj['log_history']).tolist(),
                from_safe_form(obj['count_history']).tolist(),
                obj['max_length'])
        if kind == 'ndarray':
            data = obj['data']
            if isinstance(data, torch.Tensor):
                return data.numpy().astype(np.dtype(obj['dtype']), copy=False)
            return np.asarray(data, dtype=np.dtype(obj['dtype']))
        if kind == 'object_array':
            arr = np.empty(len(obj['items']), dtype=object)
            arr[:] = [from_safe_form(x) for x in obj['items']]
            return arr.reshape(obj['shape'])
        raise UnsafeCheckpointError(f'Unknown safe-form tag {kind!r}.')
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, from_safe_form(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: from_safe_form(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and type(obj) in (list, tuple):
        return type(obj)(from_safe_form(v) for v in obj)
    return obj


def _numpy_safe_globals() -> list:
    """NumPy array reconstruction globals, under both module names."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    entries: list = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        entries.append((multiarray._reconstruct, f'{module}._reconstruct'))
        entries.append((multiarray.scalar, f'{module}.scalar'))
    for dtype_cls in vars(np.dtypes).values():
        if isinstance(dtype_cls, type) and issubclass(dtype_cls, np.dtype):
            entries.append(dtype_cls)
    return entries


class _Discarded:
    """What a discarded global unpickles to: an empty ``OrderedDict`` (the
    weights-only unpickler fills those with ``SETITEMS`` / ``BUILD`` as
    plain data); the pickled class or function is never reached."""

    def __new__(cls, *args: Any, **kwargs: Any) -> OrderedDict:
        return OrderedDict()


def safe_torch_load(f: Any, map_location: Any = None,
                    discard_globals: Sequence[str] = ()) -> Any:
    """``torch.load`` with weights-only semantics, then :func:`from_safe_form`.

    Args:
        f (str | file-like): The checkpoint.
        map_location (Any): As for :func:`torch.load`.
        discard_globals (Sequence[str]): Fully qualified globals (e.g.
            ``'torch.optim.sgd.SGD'``) whose pickled objects the caller
            drops: each reads as an empty ``OrderedDict`` instead of being
            refused (never constructed). Any other global is still refused.

    Returns:
        Any: The checkpoint.

    Raises:
        UnsafeCheckpointError: If the file references a global outside the
            allowed set; the message names it and how to opt in. Also for a
            TorchScript archive, trusted or not: ``torch.load`` would hand it
            to ``torch.jit.load``, which runs the archive's code.
        NotACheckpointError: The file is no torch file at all.
    """
    if isinstance(f, (str, os.PathLike)) and osp.isfile(f) and \
            is_torchscript_archive(str(f)):
        raise UnsafeCheckpointError(
            f'{osp.basename(str(f))} is a TorchScript archive (the OpenAI '
            'CLIP format), not a checkpoint of a model: pass it as CLIP '
            'weights (--clip-checkpoint / model.backbone.pretrained), where '
            'its tensors are read as data; it is never loaded as code.')
    if _trusted():
        return from_safe_form(
            torch.load(f, map_location=map_location, weights_only=False))
    try:
        discarded = [(_Discarded, name) for name in discard_globals]
        with torch.serialization.safe_globals(_numpy_safe_globals() +
                                              discarded):
            checkpoint = torch.load(f, map_location=map_location,
                                    weights_only=True)
    except Exception as err:  # torch raises UnpicklingError (or a subclass)
        _refuse_non_torch_file(f)  # no torch file at all: say so
        if 'weights_only' not in str(err) and 'Unsupported global' not in str(
                err):
            raise
        names = [n for n in _unsafe_globals(f) if n not in discard_globals]
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {f!r}: it pickles the global(s) '
            f'{", ".join(names) or "(see below)"}, and unpickling them could '
            'run arbitrary code. If you trust where this file comes from, '
            'pass --trust-checkpoint to our tools, call '
            'granzsl_mm.utils.set_checkpoint_trust(True), or set '
            f'{_TRUST_ENV}=1. Checkpoints written by granzsl_mm never need '
            f'this. (torch said: {str(err).splitlines()[0]})') from None
    return from_safe_form(checkpoint)


def _unsafe_globals(f: Any) -> list:
    try:
        if hasattr(f, 'seek'):
            f.seek(0)
        allowed = {name for name in _allowed_names()}
        found = torch.serialization.get_unsafe_globals_in_checkpoint(f)
        return sorted(n for n in found if n not in allowed)
    except Exception:  # the file may not even be a zip checkpoint
        return []


def _allowed_names() -> list:
    names = []
    for entry in _numpy_safe_globals():
        if isinstance(entry, tuple):
            names.append(entry[1])
        else:
            names.append(f'{entry.__module__}.{entry.__qualname__}')
    return names


def atomic_torch_save(obj: Any, filename: str) -> None:
    """Save ``obj`` in safe form to a temporary file, then rename it.

    Args:
        obj (Any): What to save (usually an mmengine checkpoint dict).
        filename (str): Destination path.
    """
    buffer = io.BytesIO()
    torch.save(to_safe_form(obj), buffer)
    atomic_write_bytes(buffer.getbuffer(), filename, suffix='.pth')


def load_local_checkpoint(filename: str, map_location: Any = None) -> Any:
    """Load a local checkpoint file with :func:`safe_torch_load`.

    The signature of mmengine's local checkpoint loader, for
    :func:`granzsl_mm.utils.install_safe_loading`.

    Args:
        filename (str): Path (``~`` is expanded).
        map_location (Any): As for :func:`torch.load`.

    Returns:
        Any: The checkpoint, safe form undone.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location)
