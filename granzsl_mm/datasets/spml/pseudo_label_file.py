"""The pseudo-label cache file read by :class:`SPMLDataset` (VLPL-style).

One ``.npz`` file per training set, written once (``tools/
generate_pseudo_labels.py``) and read at every run:

* ``img_paths``: ``[N]`` str, each image's key: its path relative to the
  wrapped dataset's ``data_root`` (see :func:`pseudo_label_key`);
* ``soft_targets``: ``[N, C]`` float32, the soft target of each class, NaN
  where the image has no pseudo-label for it;
* ``classes``: ``[C]`` str, checked against the dataset's classes;
* ``similarity`` (optional): ``[N, C]`` float32 scores they came from;
* ``meta``: a JSON string (how they were made: temperature, threshold, rho,
  CLIP architecture, prompts).
"""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np

from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['pseudo_label_key', 'save_pseudo_labels', 'load_pseudo_labels']


def pseudo_label_key(img_path: str, data_root: Optional[str] = None) -> str:
    """Key of an image in a pseudo-label file (robust to moving the data).

    Args:
        img_path (str): The image path as the dataset lists it.
        data_root (str, optional): The dataset's data root.

    Returns:
        str: ``img_path`` relative to ``data_root`` when it lies under it,
        else ``img_path``; normalised, with ``/`` separators.
    """
    path = osp.normpath(img_path)
    if data_root:
        root = osp.normpath(data_root)
        if path == root or path.startswith(root + os.sep):
            path = osp.relpath(path, root)
    return path.replace(os.sep, '/')


def save_pseudo_labels(path: str,
                       img_paths: Sequence[str],
                       soft_targets: np.ndarray,
                       classes: Sequence[str],
                       similarity: Optional[np.ndarray] = None,
                       meta: Optional[dict] = None) -> str:
    """Write a pseudo-label file.

    Args:
        path (str): Output ``.npz`` path (folders are created).
        img_paths (Sequence[str]): Image keys (:func:`pseudo_label_key`).
        soft_targets (np.ndarray): ``[N, C]`` soft targets, NaN = none.
        classes (Sequence[str]): The ``C`` class names.
        similarity (np.ndarray, optional): ``[N, C]`` scores.
        meta (dict, optional): JSON-serialisable description.

    Returns:
        str: ``path``.
    """
    soft = np.asarray(soft_targets, dtype=np.float32)
    if soft.shape != (len(img_paths), len(classes)):
        raise ValueError(f'soft_targets {soft.shape} does not match '
                         f'{len(img_paths)} images x {len(classes)} classes')
    if len(set(img_paths)) != len(img_paths):
        raise ValueError('img_paths has duplicates')
    arrays = dict(img_paths=np.asarray(list(img_paths), dtype=str),
                  soft_targets=soft,
                  classes=np.asarray(list(classes), dtype=str),
                  meta=np.asarray(json.dumps(meta or {})))
    if similarity is not None:
        arrays['similarity'] = np.asarray(similarity, dtype=np.float32)
    with atomic_open(path, suffix='.npz') as f:
        np.savez(f, **arrays)
    return path


def load_pseudo_labels(path: str,
                       classes: Optional[Sequence[str]] = None
                       ) -> Dict[str, object]:
    """Read a pseudo-label file.

    Args:
        path (str): The ``.npz`` file.
        classes (Sequence[str], optional): Expected class names (in order).

    Returns:
        dict: ``soft_targets`` (dict key -> float32 ``[C]``), ``classes``
        (list), ``meta`` (dict) and ``similarity`` (array or None).

    Raises:
        FileNotFoundError: No such file.
        ValueError: Missing arrays or class names that differ.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'pseudo-label file not found: {path} (make '
                                'it with tools/generate_pseudo_labels.py)')
    with np.load(path, allow_pickle=False) as data:
        missing = {'img_paths', 'soft_targets', 'classes'} - set(data.files)
        if missing:
            raise ValueError(f'{path} is not a pseudo-label file: missing '
                             f'{sorted(missing)}')
        keys = [str(k) for k in data['img_paths']]
        soft = data['soft_targets'].astype(np.float32)
        file_classes = [str(c) for c in data['classes']]
        meta = json.loads(str(data['meta'])) if 'meta' in data.files else {}
        similarity = data['similarity'] if 'similarity' in data.files \
            else None
    if classes is not None and list(classes) != file_classes:
        raise ValueError(f'{path}: classes {file_classes[:5]}... differ from '
                         f'the dataset classes {list(classes)[:5]}...')
    return dict(soft_targets=dict(zip(keys, soft)), classes=file_classes,
                meta=meta, similarity=similarity)
