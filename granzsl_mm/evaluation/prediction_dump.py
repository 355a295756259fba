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
* ``.pkl`` / ``.pickle``: the restricted unpickler
  (:func:`granzsl_mm.utils.safe_pickle.safe_pickle_load`: containers,
  numbers, strings, NumPy arrays of plain dtypes). mmengine's own dumps of
  torch tensors need torch's globals and are refused; re-dump with
  ``tools/test.py --out preds.pth``, or pass ``trust=True``
  (``--trust-dump``) for a file you made yourself.
"""
import os.path as osp
from typing import Any, Dict, List, Sequence

import numpy as np
import torch

__all__ = ['save_predictions', 'load_predictions', 'DUMP_SUFFIXES']

DUMP_SUFFIXES = ('.pth', '.pt', '.npz', '.pkl', '.pickle')
_FIELDS = ('pred_score', 'gt_score', 'pred_score_zsl')


def _plain(value: Any) -> Any:
    """A value ``torch.load(weights_only=True)`` admits."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def save_predictions(results: Sequence[dict], path: str) -> None:
    """Write a dump that :func:`load_predictions` reads without pickle.

    Args:
        results (Sequence[dict]): Per-image field dicts.
        path (str): ``.pth`` / ``.pt`` (torch tensors) or ``.npz``.
    """
    import io

    from granzsl_mm.utils.atomic_io import atomic_write_bytes
    if path.endswith('.npz'):
        arrays = {}
        for key in _FIELDS:
            if results and all(key in r for r in results):
                arrays[key] = np.stack([np.asarray(_plain(r[key]))
                                        for r in results])
        buf = io.BytesIO()
        np.savez(buf, **arrays)
    elif path.endswith(('.pth', '.pt')):
        buf = io.BytesIO()
        torch.save([_plain(dict(r)) for r in results], buf)
    else:
        raise ValueError(f'{path}: prediction dumps are written as .pth, .pt '
                         'or .npz (read without unpickling code)')
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
