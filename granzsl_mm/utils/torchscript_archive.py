"""The tensors of a TorchScript archive, read without running any of it.

OpenAI released CLIP's weights as TorchScript archives (``ViT-B-16.pt``).
``torch.jit.load`` on such a file compiles the archive's ``code/`` and runs
the ``__setstate__`` methods it defines, so a crafted archive runs code the
moment it is loaded, and ``torch.load(weights_only=True)`` refuses the format
altogether. This module reads the parameters and buffers of an archive as
plain data instead:

* ``data.pkl`` is unpickled with a restricted unpickler that admits only the
  tensor rebuild function, the storage types, ``collections.OrderedDict`` and
  TorchScript's list / type-tag helpers. Every ``__torch__.*`` class (the
  archive's own modules) becomes an inert record of its attributes; any
  other global is refused before it is looked up;
* the tensor bytes are read from ``data/<key>`` (little-endian archives only);
* which attributes are parameters or buffers (what ``state_dict`` holds) is
  read from the ``__parameters__`` / ``__buffers__`` lines of the class
  definitions in ``code/``, as text: nothing there is compiled or run.

Imports only the standard library and torch.
"""
import io
import os.path as osp
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import Any, Dict, Optional, Set

import torch

__all__ = ['TorchScriptArchiveError', 'is_torchscript_archive',
           'read_torchscript_state_dict']

_STORAGE_DTYPES = {
    'FloatStorage': torch.float32, 'DoubleStorage': torch.float64,
    'HalfStorage': torch.float16, 'BFloat16Storage': torch.bfloat16,
    'LongStorage': torch.int64, 'IntStorage': torch.int32,
    'ShortStorage': torch.int16, 'CharStorage': torch.int8,
    'ByteStorage': torch.uint8, 'BoolStorage': torch.bool,
}
# ``class Name(Module):`` followed by its parameter and buffer name lists.
_CLASS = re.compile(r'^class (\w+)\(Module\):\n'
                    r'\s+__parameters__ = \[([^\]]*)\]\n'
                    r'\s+__buffers__ = \[([^\]]*)\]', re.M)


class TorchScriptArchiveError(ValueError):
    """A TorchScript archive that cannot be read as plain tensors."""


def is_torchscript_archive(path: str) -> bool:
    """Whether a file is a TorchScript archive, decided from its bytes.

    A zip whose entries include ``<root>/constants.pkl`` or ``<root>/code/``
    (``torch.save`` zips have neither), whatever the file is called.

    Args:
        path (str): The file.

    Returns:
        bool: True for a TorchScript archive.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith('/constants.pkl') or '/code/' in n
                   for n in archive.namelist())


class _ScriptObject:
    """An inert record of one ``__torch__`` object's attributes."""

    qualname = ''

    def __init__(self, *args: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _storage_type(name: str) -> type:
    return type(name, (), {'dtype': _STORAGE_DTYPES[name]})


def _rebuild_tensor(storage: torch.Tensor, offset: int, size: tuple,
                    stride: tuple, *unused: Any) -> torch.Tensor:
    return storage.as_strided(tuple(size), tuple(stride), offset)


class _ArchiveUnpickler(pickle.Unpickler):
    """Admits tensors, storages and inert ``__torch__`` records only."""

    def __init__(self, data: bytes, archive: zipfile.ZipFile, root: str,
                 path: str) -> None:
        super().__init__(io.BytesIO(data))
        self._archive, self._root, self._path = archive, root, path
        self._storages: Dict[str, torch.Tensor] = {}
        self._classes: Dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == '__torch__' or module.startswith('__torch__.'):
            qualname = f'{module}.{name}'
            if qualname not in self._classes:
                self._classes[qualname] = type(
                    name, (_ScriptObject, ), {'qualname': qualname})
            return self._classes[qualname]
        if module == 'torch._utils' and name in ('_rebuild_tensor_v2',
                                                 '_rebuild_tensor'):
            return _rebuild_tensor
        if module == 'torch' and name in _STORAGE_DTYPES:
            return _storage_type(name)
        if (module, name) == ('collections', 'OrderedDict'):
            return OrderedDict
        if module == 'torch.jit._pickle' and name.startswith('build_'):
            return list
        if (module, name) == ('torch.jit._pickle', 'restore_type_tag'):
            return lambda value, _type: value
        raise TorchScriptArchiveError(
            f'{osp.basename(self._path)}: the TorchScript archive asks for '
            f'{module}.{name}, which a weights file does not need; it was not '
            'loaded (nothing in it ran).')

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5
                and pid[0] == 'storage'):
            raise TorchScriptArchiveError(
                f'{osp.basename(self._path)}: unexpected storage record '
                f'{pid!r:.80} in the TorchScript archive.')
        _, storage_type, key, _location, numel = pid
        dtype = getattr(storage_type, 'dtype', None)
        if dtype is None:
            raise TorchScriptArchiveError(
                f'{osp.basename(self._path)}: storage {key!r} has no known '
                'dtype.')
        if key not in self._storages:
            raw = bytearray(self._archive.read(f'{self._root}data/{key}'))
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(
                0, dtype=dtype)
            if flat.numel() != numel:
                raise TorchScriptArchiveError(
                    f'{osp.basename(self._path)}: storage {key!r} holds '
                    f'{flat.numel()} values, its record says {numel}.')
            self._storages[key] = flat
        return self._storages[key]


def _state_names(archive: zipfile.ZipFile, root: str) -> Dict[str, Set[str]]:
    """Class qualname -> its parameter and buffer names, read as text."""
    names: Dict[str, Set[str]] = {}
    code = f'{root}code/'
    for entry in archive.namelist():
        if entry.startswith(code) and entry.endswith('.py'):
            module = entry[len(code):-len('.py')].replace('/', '.')
            text = archive.read(entry).decode('utf-8', errors='replace')
            for cls, params, buffers in _CLASS.findall(text):
                names[f'{module}.{cls}'] = set(
                    re.findall(r'"([^"]+)"', params + buffers))
    return names


def _collect(obj: _ScriptObject, prefix: str, names: Dict[str, Set[str]],
             out: Dict[str, torch.Tensor], depth: int = 0) -> None:
    if depth > 64:
        raise TorchScriptArchiveError('module nesting deeper than 64 levels')
    state = obj.state if isinstance(obj.state, dict) else {}
    keep: Optional[Set[str]] = names.get(obj.qualname)
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            if keep is None or key in keep:
                out[prefix + key] = value
        elif isinstance(value, _ScriptObject):
            _collect(value, f'{prefix}{key}.', names, out, depth + 1)


def read_torchscript_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of a TorchScript archive, without running it.

    Equal to ``torch.jit.load(path).state_dict()`` for the parameters and
    buffers of the archive's modules, but nothing of the archive is compiled
    or executed.

    Args:
        path (str): A TorchScript archive (:func:`is_torchscript_archive`).

    Returns:
        dict: ``{name: tensor}`` in the archive's attribute order (CPU).

    Raises:
        TorchScriptArchiveError: Not an archive, a big-endian one, or one
            whose pickle asks for anything but tensors and modules.
    """
    if not is_torchscript_archive(path):
        raise TorchScriptArchiveError(
            f'{osp.basename(path)} is not a TorchScript archive.')
    with zipfile.ZipFile(path) as archive:
        entries = archive.namelist()
        data_pkl = [n for n in entries if n.endswith('/data.pkl')
                    and n.count('/') == 1]
        if len(data_pkl) != 1:
            raise TorchScriptArchiveError(
                f'{osp.basename(path)}: no single data.pkl in the archive.')
        root = data_pkl[0][:-len('data.pkl')]
        if f'{root}byteorder' in entries and archive.read(
                f'{root}byteorder').strip() != b'little':
            raise TorchScriptArchiveError(
                f'{osp.basename(path)}: a big-endian archive is not supported.')
        obj = _ArchiveUnpickler(archive.read(data_pkl[0]), archive, root,
                                path).load()
        names = _state_names(archive, root)
    if not isinstance(obj, _ScriptObject):
        raise TorchScriptArchiveError(
            f'{osp.basename(path)}: the archive holds no module.')
    out: Dict[str, torch.Tensor] = {}
    _collect(obj, '', names, out)
    return out
