"""A restricted unpickler for the papers' data pickles (untrusted files).

The zero-shot papers ship their splits and labels as pickles (BiAM's
``unseen_labels.pkl``, the NUS-WIDE ``test_*_labels.pkl``, Bansal et al.'s
``cls_ids.pickle``). ``pickle.load`` on a downloaded file runs whatever
callable the file names; :func:`safe_pickle_load` instead admits only

* builtin containers, numbers, strings, bytes, ``None`` / booleans (these
  need no global at all);
* ``set`` / ``frozenset`` (``builtins.set`` / ``builtins.frozenset``, which
  protocol 2 names);
* NumPy arrays and scalars of plain dtypes: ``numpy.core.multiarray.
  _reconstruct`` / ``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``,
  ``numpy.dtype``, ``numpy.core.multiarray.scalar``,
  ``numpy.core.numeric._frombuffer`` (protocol 5; each also in the
  ``numpy._core`` spelling), plus ``_codecs.encode`` restricted to
  ``latin1`` (how protocol 2
  stores the raw bytes of an array written by Python 3).

Any other global is refused *before* it is looked up, with an error naming
the file and the global, so nothing in the file runs. After loading, object
arrays are refused (their elements could only be values built from the
admitted globals, but our readers expect plain data) unless
``allow_str_object_arrays`` is set and every element is a ``str`` (BiAM's
``unseen_labels.pkl`` is an object array of MID strings).

Imports only the standard library and NumPy.
"""
import codecs
import os.path as osp
import pickle
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

__all__ = ['safe_pickle_load', 'UnsafePickleError', 'ALLOWED_GLOBALS']


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global or held data the loader does not admit."""


def _latin1_encode(obj: Any, encoding: str = 'latin1') -> bytes:
    """``_codecs.encode`` as protocol 2 uses it: ``str`` -> latin-1 bytes."""
    if not isinstance(obj, str) or codecs.lookup(encoding).name != 'iso8859-1':
        raise UnsafePickleError(
            f'_codecs.encode is admitted only as (str, "latin1"), got '
            f'({type(obj).__name__}, {encoding!r})')
    return obj.encode('latin1')


def _numpy_globals() -> Dict[Tuple[str, str], Callable]:
    try:  # NumPy >= 2
        from numpy._core import multiarray, numeric
    except ImportError:  # pragma: no cover - NumPy 1.x
        from numpy.core import multiarray, numeric
    out = {}
    for pkg in ('numpy.core', 'numpy._core'):
        out[(f'{pkg}.multiarray', '_reconstruct')] = multiarray._reconstruct
        out[(f'{pkg}.multiarray', 'scalar')] = multiarray.scalar
        # protocol 5 arrays: _frombuffer(buffer, dtype, shape, order)
        out[(f'{pkg}.numeric', '_frombuffer')] = numeric._frombuffer
    out[('numpy', 'ndarray')] = np.ndarray
    out[('numpy', 'dtype')] = np.dtype
    return out


ALLOWED_GLOBALS: Dict[Tuple[str, str], Callable] = {
    ('builtins', 'set'): set,
    ('builtins', 'frozenset'): frozenset,
    ('_codecs', 'encode'): _latin1_encode,
    **_numpy_globals(),
}

_PLAIN_KINDS = set('biufcUSMm')  # bool, ints, floats, complex, str, bytes, dates


class _RestrictedUnpickler(pickle.Unpickler):

    def __init__(self, file, path: str) -> None:
        # latin1: Python 2 ``str`` payloads (NumPy buffers, names) decode
        # losslessly, as NumPy's own pickle loading recommends.
        super().__init__(file, encoding='latin1')
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if module == '__builtin__':  # Python 2 / protocol <= 2 spelling
            module = 'builtins'
        fn = ALLOWED_GLOBALS.get((module, name))
        if fn is None:
            raise UnsafePickleError(
                f'{self._path}: refused to load global {module}.{name} (only '
                'builtin containers, numbers, strings and NumPy arrays of '
                'plain dtypes are admitted); the file was not executed')
        return fn

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f'{self._path}: persistent ids are refused')


def _check_arrays(obj: Any, path: str, allow_str: bool, depth: int = 0,
                  checked: Optional[set] = None) -> None:
    """Refuse object / structured arrays (object arrays of str if allowed).

    Each container is checked once (``checked`` holds the ids seen): a
    pickle can share one list 60 levels deep (``x = [x, x]``), and walking
    the shared references again would take 2**60 steps.
    """
    if depth > 100:
        raise UnsafePickleError(f'{path}: nesting deeper than 100 levels')
    checked = set() if checked is None else checked
    if isinstance(obj, (dict, list, tuple, set, frozenset, np.ndarray)):
        if id(obj) in checked:
            return
        checked.add(id(obj))
    if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
        dtype = obj.dtype
        if dtype.kind == 'O':
            if not isinstance(obj, np.ndarray) or not allow_str:
                raise UnsafePickleError(
                    f'{path}: holds an object array (dtype=object); pass '
                    'allow_str_object_arrays=True for an array of strings')
            bad = next((type(v).__name__ for v in obj.ravel()
                        if not isinstance(v, str)), None)
            if bad is not None:
                raise UnsafePickleError(
                    f'{path}: object array holds a {bad}, only str is '
                    'admitted')
        elif dtype.kind not in _PLAIN_KINDS or dtype.hasobject:
            raise UnsafePickleError(f'{path}: array of dtype {dtype} is '
                                    'not a plain dtype')
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_arrays(k, path, allow_str, depth + 1, checked)
            _check_arrays(v, path, allow_str, depth + 1, checked)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            _check_arrays(v, path, allow_str, depth + 1, checked)


def safe_pickle_load(path: str, allow_str_object_arrays: bool = False) -> Any:
    """Load a data pickle without running code from it.

    Args:
        path (str): The pickle file.
        allow_str_object_arrays (bool): Admit NumPy object arrays whose
            elements are all ``str`` (checked after loading).

    Returns:
        Any: The loaded data (containers, numbers, strings, bytes, sets,
        NumPy arrays / scalars).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: The file names a global outside
            :data:`ALLOWED_GLOBALS` (nothing is executed) or holds an
            object / structured array that is not admitted.
        ValueError: The file is not a readable pickle.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'pickle file not found: {path}')
    with open(path, 'rb') as f:
        try:
            data = _RestrictedUnpickler(f, path).load()
        except UnsafePickleError:
            raise
        except Exception as e:  # truncated, not a pickle, bad opcode ...
            raise ValueError(f'{path} is not a readable pickle: {e!r}') from e
    _check_arrays(data, path, allow_str_object_arrays)
    return data
