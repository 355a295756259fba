"""Prediction dumps (``tools/test.py --out``) written and read safely.

A dump is a list of per-image dicts of data-sample fields (``pred_score``,
``gt_score``, optionally ``pred_score_zsl``, ``sample_idx``, ``img_path``).
Reading a pickle runs whatever it names, so a dump handed in by someone else
is read only in forms that cannot execute code:

* ``.pth`` / ``.pt`` (what :func:`save_predictions` and ``tools/test.py
  --out`` write): ``torch.load(weights_only=True)`` - tensors, containers,
  numbers, strings only;
* ``.npz``: arrays ``pred_score`` ``[N, C]``, ``gt_score`` ``[N, C]`` and
  optionally ``pred_score_zsl``, read with ``allow_pickle=False``;
* ``.pkl`` / ``.pickle``: written as plain data (NumPy arrays, numbers,
  strings, containers), read by the restricted unpickler
  (:func:`granzsl_mm.utils.safe_pickle.safe_pickle_load`: containers,
  numbers, strings, NumPy arrays of plain dtypes). mmengine's own dumps of
  torch tensors need torch's globals and are refused; re-dump with
  ``tools/test.py --out preds.pth``, or pass ``trust=True``
  (``--trust-dump``) for a file you made yourself.

``tools/test.py --out`` writes through :func:`save_predictions` (the
:class:`~granzsl_mm.evaluation.metrics.SafeDumpResults` metric), so every
dump it makes is one :func:`load_predictions` reads without ``trust``.
"""
import os.path as osp
from typing import Any, Dict, List, Sequence

import numpy as np
import torch

__all__ = ['save_predictions', 'load_predictions', 'to_plain_data',
           'DUMP_SUFFIXES']

DUMP_SUFFIXES = ('.pth', '.pt', '.npz', '.pkl', '.pickle')
_FIELDS = ('pred_score', 'gt_score', 'pred_score_zsl')


def to_plain_data(value: Any) -> Any:
    """A value ``torch.load(weights_only=True)`` admits."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {str(k): to_plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain_data(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _numpy(value: Any) -> Any:
    """A value the restricted unpickler admits (tensors -> arrays)."""
    value = to_plain_data(value)
    if isinstance(value, torch.Tensor):
        return value.numpy()
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numpy(v) for v in value]
    return value


def save_predictions(results: Sequence[dict], path: str) -> None:
    """Write a dump that :func:`load_predictions` reads without trust.

    Args:
        results (Sequence[dict]): Per-image field dicts.
        path (str): ``.pth`` / ``.pt`` (torch tensors, weights-only
            loadable), ``.npz`` (the score arrays) or ``.pkl`` /
            ``.pickle`` (plain data: NumPy arrays, no torch objects).
    """
    import io

    from granzsl_mm.utils.atomic_io import atomic_write_bytes
    if path.endswith(('.pkl', '.pickle')):
        import pickle
        buf = io.BytesIO()
        pickle.dump([_numpy(dict(r)) for r in results], buf, protocol=4)
    elif path.endswith('.npz'):
        arrays = {}
        for key in _FIELDS:
            if results and all(key in r for r in results):
                arrays[key] = np.stack([np.asarray(to_plain_data(r[key]))
                                        for r in results])
        buf = io.BytesIO()
        np.savez(buf, **arrays)
    elif path.endswith(('.pth', '.pt')):
        buf = io.BytesIO()
        torch.save([to_plain_data(dict(r)) for r in results], buf)
    else:
        raise ValueError(f'{path}: prediction dumps are written as .pth, '
                         '.pt, .npz, .pkl or .pickle (each read without '
                         'unpickling code)')
    atomic_write_bytes(buf.getvalue(), path)


def load_predictions(path: str, trust: bool = False) -> List[Dict[str, Any]]:
    """Read a prediction dump (see the module docstring for the formats).

    Args:
        path (str): The dump.
        trust (bool): Read a ``.pkl`` with full unpickling (only for a file
            you made yourself).

    Returns:
        list[dict]: Per-image field dicts.

    Raises:
        ValueError: Unknown suffix, or a file that is no dump.
        granzsl_mm.utils.safe_pickle.UnsafePickleError: A pickle that needs
            globals the restricted reader refuses.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'prediction dump not found: {path}')
    if path.endswith(('.pth', '.pt')):
        try:
            data = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:
            raise ValueError(f'{path}: not a weights-only torch file '
                             f'({type(e).__name__}: {e})') from e
    elif path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            if 'pred_score' not in npz or 'gt_score' not in npz:
                raise ValueError(f'{path}: needs arrays pred_score and '
                                 f'gt_score, has {sorted(npz.files)}')
            fields = {k: npz[k] for k in _FIELDS if k in npz}
        data = [{k: v[i] for k, v in fields.items()}
                for i in range(len(fields['pred_score']))]
    elif path.endswith(('.pkl', '.pickle')):
        if trust:
            import mmengine
            data = mmengine.load(path)
        else:
            from granzsl_mm.utils.safe_pickle import (
                UnsafePickleError,
                safe_pickle_load,
            )
            try:
                data = safe_pickle_load(path)
            except UnsafePickleError as e:
                raise UnsafePickleError(
                    f'{e}. A pickle dump of torch tensors (mmengine '
                    'DumpResults) cannot be read safely: write it again with '
                    '`tools/test.py ... --out preds.pth`, or pass '
                    '--trust-dump if you made this file yourself.') from e
    else:
        raise ValueError(f'{path}: unknown dump format; expected one of '
                         f'{DUMP_SUFFIXES}')
    if not isinstance(data, (list, tuple)) or not all(
            isinstance(r, dict) for r in data):
        raise ValueError(f'{path}: a dump is a list of per-image dicts, got '
                         f'{type(data).__name__}')
    return list(data)
