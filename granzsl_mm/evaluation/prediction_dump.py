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

Labels are converted at this door (:mod:`granzsl_mm.utils.label_matrix`):
the dumps :func:`save_predictions` writes record their convention (ours:
1 / 0 / -1) in a ``label_convention`` field of every row (an array of the
``.npz``) and are read without asking. A dump that does not record it (one
we did not write, or written before the field) is read as ours only while
its ``gt_score`` has no -1; with -1 entries (unknown in ours, negative in
the papers' signed +1 / -1 / 0) the caller must state the convention,
``label_convention='ours'`` or ``'signed'`` (``eval_scores.py
--label-convention``). Every ``gt_score`` comes back as int8 in ours. The
arrays of an ``.npz`` must have as many rows each.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from granzsl_mm.utils.label_matrix import (
    LABEL_CONVENTIONS,
    labels_as_int8,
    to_ours,
)

__all__ = ['save_predictions', 'load_predictions', 'to_plain_data',
           'DUMP_SUFFIXES', 'CONVENTION_FIELD']

DUMP_SUFFIXES = ('.pth', '.pt', '.npz', '.pkl', '.pickle')
_FIELDS = ('pred_score', 'gt_score', 'pred_score_zsl')
# the field (row key, .npz array) recording the label convention of a dump
CONVENTION_FIELD = 'label_convention'


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

    Each row records the label convention, ours (``gt_score`` values
    checked: 1, 0 or -1).

    Args:
        results (Sequence[dict]): Per-image field dicts; ``gt_score`` in our
            convention.
        path (str): ``.pth`` / ``.pt`` (torch tensors, weights-only
            loadable), ``.npz`` (the score arrays) or ``.pkl`` /
            ``.pickle`` (plain data: NumPy arrays, no torch objects).
    """
    import io

    from granzsl_mm.utils.atomic_io import atomic_write_bytes
    results = [dict(r) for r in results]
    for i, row in enumerate(results):
        if row.get('gt_score') is not None:
            labels_as_int8(row['gt_score'], f'{path}: gt_score of row {i}')
        row[CONVENTION_FIELD] = 'ours'
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
        arrays[CONVENTION_FIELD] = np.array('ours')
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


def load_predictions(path: str, trust: bool = False,
                     label_convention: Optional[str] = None
                     ) -> List[Dict[str, Any]]:
    """Read a prediction dump (see the module docstring for the formats
    and the label conventions).

    Args:
        path (str): The dump.
        trust (bool): Read a ``.pkl`` with full unpickling (only for a file
            you made yourself).
        label_convention (str, optional): ``'ours'`` (1 / 0 / -1) or
            ``'signed'`` (+1 / -1 / 0) for a dump that does not record it;
            needed when its ``gt_score`` holds -1. Must agree with a
            recorded one.

    Returns:
        list[dict]: Per-image field dicts, ``gt_score`` as int8 in our
        convention.

    Raises:
        ValueError: Unknown suffix, a file that is no dump, arrays of
            different row counts, labels outside the convention, or -1
            labels of an unstated convention.
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
            recorded = str(npz[CONVENTION_FIELD]) \
                if CONVENTION_FIELD in npz else None
        rows = {k: len(v) for k, v in fields.items()}
        if len(set(rows.values())) > 1:
            raise ValueError(
                f'{path}: ' + ', '.join(f'{n} {k} rows'
                                        for k, n in rows.items())
                + ': every image needs its scores and its labels (a '
                'truncated or mismatched dump)')
        data = [{k: v[i] for k, v in fields.items()}
                for i in range(rows['pred_score'])]
        if recorded is not None:
            for row in data:
                row[CONVENTION_FIELD] = recorded
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
    return _labels_in_ours(path, list(data), label_convention)


def _labels_in_ours(path: str, rows: List[dict],
                    stated: Optional[str]) -> List[dict]:
    """The rows with ``gt_score`` converted to ours (int8), the recorded
    or stated convention resolved; the record field removed."""
    if stated is not None and stated not in LABEL_CONVENTIONS:
        raise ValueError(f'label_convention must be one of '
                         f'{LABEL_CONVENTIONS}, got {stated!r}')
    recorded = {str(r.pop(CONVENTION_FIELD)) for r in rows
                if CONVENTION_FIELD in r}
    if len(recorded) > 1 or recorded - set(LABEL_CONVENTIONS):
        raise ValueError(f'{path}: rows record the label conventions '
                         f'{sorted(recorded)}; expected one of '
                         f'{LABEL_CONVENTIONS}')
    convention = recorded.pop() if recorded else None
    if convention is not None and stated not in (None, convention):
        raise ValueError(
            f'{path} records its label convention {convention!r} (a dump of '
            f'tools/test.py --out); the stated {stated!r} contradicts it: '
            'leave label_convention (--label-convention) out for such a dump')
    convention = convention or stated
    labelled = [r for r in rows if r.get('gt_score') is not None]
    if convention is None:
        if any(bool((np.asarray(to_plain_data(r['gt_score'])) == -1).any())
               for r in labelled):
            raise ValueError(
                f'{path}: gt_score holds -1 entries and the dump does not '
                "record its label convention: -1 is 'unknown' in ours (1 / "
                "0 / -1) and 'negative' in the papers' signed one (+1 / -1 / "
                "0). State it: label_convention='ours' or 'signed' "
                '(eval_scores.py --label-convention ours|signed).')
        convention = 'ours'  # 0 / 1 only: the same in both readings
    for i, row in enumerate(labelled):
        row['gt_score'] = to_ours(row['gt_score'], convention,
                                  f'{path}: gt_score of row {i}')
    return rows
