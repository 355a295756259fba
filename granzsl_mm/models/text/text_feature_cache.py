"""Cache of frozen text features: in memory, optionally on disk.

The on-disk shard is keyed by a hash of the text-tower weights (and its
module structure: the same weights with another activation are another
tower), entries by the text itself, so the same sentence is never encoded
twice by the same weights. A shard is one file ``text_features_<key>.pt``
holding ``{'texts': [...], 'features': Tensor[N, D]}``.

Where shards go: ``cache_dir`` of the encoder; ``'auto'`` (the default of
:class:`CLIPTextEncoder`) is the process-wide folder of
:func:`set_default_cache_dir` or the ``GRANZSL_MM_TEXT_CACHE`` environment
variable, None (memory only) when neither is set. The tools
(``tools/infer.py``, the web app) set :data:`USER_CACHE_DIR`
(``~/.cache/granzsl_mm/text_features``) unless told otherwise.
"""
import hashlib
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional

import torch
from torch import Tensor, nn

from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['TextFeatureCache', 'hash_module_weights', 'set_default_cache_dir',
           'default_cache_dir', 'USER_CACHE_DIR']

USER_CACHE_DIR = osp.join(osp.expanduser('~'), '.cache', 'granzsl_mm',
                          'text_features')
_default_dir: List[Optional[str]] = []  # set by set_default_cache_dir


def set_default_cache_dir(path: Optional[str] = USER_CACHE_DIR) -> None:
    """Where encoders with ``cache_dir='auto'`` keep their shards.

    Args:
        path (str, optional): A folder; None: memory only.
    """
    _default_dir[:] = [path]


def default_cache_dir() -> Optional[str]:
    """The folder ``cache_dir='auto'`` resolves to now (None: memory)."""
    if _default_dir:
        return _default_dir[0]
    return os.environ.get('GRANZSL_MM_TEXT_CACHE') or None


def hash_module_weights(tensors: Iterable[Tensor], extra: str = '') -> str:
    """SHA-1 over the raw bytes of some tensors (order matters).

    Args:
        tensors: The tensors.
        extra: Text hashed too (e.g. the module structure).

    Returns:
        str: 16 hex digits.
    """
    digest = hashlib.sha1(extra.encode())
    for tensor in tensors:
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(str((tuple(data.shape), data.dtype)).encode())
        digest.update(data.view(torch.uint8).numpy().tobytes()
                      if data.numel() else b'')
    return digest.hexdigest()[:16]


class TextFeatureCache(nn.Module):
    """Text -> feature map with an optional on-disk shard.

    Args:
        cache_dir: Folder for the on-disk shard; None keeps memory only.
    """

    def __init__(self, cache_dir: Optional[str] = None) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self._store: Dict[str, Tensor] = {}
        self._key: Optional[str] = None

    def bind(self, weights_key: str) -> None:
        """Use the shard of these weights (drops entries of other weights)."""
        if weights_key == self._key:
            return
        self._key = weights_key
        self._store = {}
        path = self._path()
        if path and osp.isfile(path):
            data = torch.load(path, map_location='cpu', weights_only=True)
            if isinstance(data, dict) and 'features' in data:
                self._store = dict(zip(data['texts'], data['features']))
            else:  # older shards: {text: feature}
                self._store = dict(data)

    def _path(self) -> Optional[str]:
        if not self.cache_dir or not self._key:
            return None
        return osp.join(self.cache_dir, f'text_features_{self._key}.pt')

    def missing(self, texts: List[str]) -> List[str]:
        """Distinct texts not in the cache, in first-seen order."""
        return list(dict.fromkeys(t for t in texts if t not in self._store))

    def add(self, texts: List[str], feats: Tensor) -> None:
        """Store features (moved to CPU) and flush the shard to disk."""
        for text, feat in zip(texts, feats.detach().cpu()):
            self._store[text] = feat.clone()
        path = self._path()
        if path and texts:
            names = list(self._store)
            with atomic_open(path, suffix='.tmp') as f:
                torch.save(dict(texts=names, features=torch.stack(
                    [self._store[n] for n in names])), f)

    def get(self, texts: List[str]) -> Tensor:
        """Stack cached features of ``texts`` (all must be present)."""
        return torch.stack([self._store[t] for t in texts])

    def clear(self) -> None:
        """Forget the in-memory entries (the disk shard stays)."""
        self._store = {}
        self._key = None

    def __len__(self) -> int:
        return len(self._store)
