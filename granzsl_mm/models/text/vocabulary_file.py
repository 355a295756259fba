"""Vocabulary files: learned class embeddings, exportable and reloadable.

A vocabulary file stores joint-space class embeddings together with their
names, so that names learned by one model (GranZSL's class-name vectors,
tuned prompts) can be reused by a zero-shot classifier or the inferencer
without the training code. It is a ``torch.save`` dict of plain types and
tensors only (loaded with ``weights_only=True``)::

    {'format': 'granzsl_mm.vocabulary/v1',
     'names': ['cat', 'dog', ...],               # N unique strings
     'embeddings': FloatTensor [N, D],           # L2-normalised
     'sources': ['learned', 'learned', ...],     # per name
     'meta': {'method': 'GranZSL', 'arch': 'ViT-B-16', ...}}
"""
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['VOCABULARY_FORMAT', 'save_vocabulary_file',
           'load_vocabulary_file']

VOCABULARY_FORMAT = 'granzsl_mm.vocabulary/v1'


def _check(names: Sequence[str], embeddings: Tensor,
           sources: Sequence[str], where: str) -> None:
    if not isinstance(embeddings, Tensor) or embeddings.dim() != 2:
        raise ValueError(f'{where}: embeddings must be a [N, D] tensor, got '
                         f'{getattr(embeddings, "shape", type(embeddings))}')
    if len(names) != embeddings.shape[0] or len(sources) != len(names):
        raise ValueError(f'{where}: {len(names)} names, {len(sources)} '
                         f'sources and {embeddings.shape[0]} embeddings')
    bad = [n for n in names if not isinstance(n, str) or not n.strip()]
    if bad:
        raise ValueError(f'{where}: names must be non-empty strings: {bad}')
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise ValueError(f'{where}: duplicate names {dup}')
    if not torch.isfinite(embeddings).all():
        raise ValueError(f'{where}: embeddings hold NaN or inf')


def save_vocabulary_file(path: str,
                         names: Sequence[str],
                         embeddings: Tensor,
                         sources: Optional[Sequence[str]] = None,
                         meta: Optional[dict] = None) -> str:
    """Write a vocabulary file atomically.

    Args:
        path: Output path (conventionally ``*.pt``).
        names: Class names, unique.
        embeddings: ``[N, D]`` class embeddings (normalised on writing).
        sources: Per-name origin (default ``'learned'`` for all).
        meta: Free-form information (method, CLIP architecture, ...).

    Returns:
        str: ``path``.
    """
    names = [str(n) for n in names]
    sources = list(sources) if sources is not None else ['learned'] * len(
        names)
    _check(names, embeddings, sources, path)
    data = dict(format=VOCABULARY_FORMAT, names=names,
                embeddings=F.normalize(embeddings.detach().float().cpu(),
                                       dim=-1).contiguous(),
                sources=[str(s) for s in sources], meta=dict(meta or {}))
    # atomic, synced, mode 0o666 & ~umask (as a plain `open` gives)
    with atomic_open(path, suffix='.tmp') as f:
        torch.save(data, f)
    return path


def load_vocabulary_file(path: str) -> Dict[str, object]:
    """Read and validate a vocabulary file.

    Args:
        path: A file written by :func:`save_vocabulary_file`.

    Returns:
        dict: ``names`` (list[str]), ``embeddings`` (``[N, D]`` float),
        ``sources`` (list[str]) and ``meta`` (dict).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'vocabulary file not found: {path}')
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # pickle / zip errors: name the file
        raise ValueError(f'{path} is not a vocabulary file ({e})') from e
    if not isinstance(data, dict) or data.get('format') != VOCABULARY_FORMAT:
        raise ValueError(f'{path} is not a {VOCABULARY_FORMAT!r} file')
    names = list(data.get('names', []))
    sources = list(data.get('sources') or ['learned'] * len(names))
    embeddings = data.get('embeddings')
    _check(names, embeddings, sources, path)
    return dict(names=names, embeddings=embeddings.float(), sources=sources,
                meta=dict(data.get('meta') or {}))
