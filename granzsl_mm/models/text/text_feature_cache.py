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

A shard read from disk is checked before any entry is used: its layout
(texts, a 2-D float tensor of as many rows), finite, unit-norm rows (the
encoder writes L2-normalised features: zeros, NaN and foreign vectors are
caught), and one entry recomputed and compared (a stale or planted shard
for these weights, or one of another width, is caught). A shard that fails
is not used: its entries are encoded again and the file is rewritten, and a
warning names it. Bounded: at most ``max_entries`` texts per shard (default
:data:`MAX_ENTRIES`), the least recently used evicted first.
"""
import hashlib
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Callable, Iterable, List, Optional

import torch
from torch import Tensor, nn

from granzsl_mm.utils.atomic_io import atomic_open

__all__ = ['TextFeatureCache', 'hash_module_weights', 'set_default_cache_dir',
           'default_cache_dir', 'USER_CACHE_DIR', 'MAX_ENTRIES']

# 100,000 prompts of 512 floats: about 200 MB in memory and on disk
MAX_ENTRIES = 100_000

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
        max_entries: Texts kept per shard (least recently used evicted).
    """

    def __init__(self, cache_dir: Optional[str] = None,
                 max_entries: int = MAX_ENTRIES) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.max_entries = int(max_entries)
        self._store: OrderedDict[str, Tensor] = OrderedDict()
        self._key: Optional[str] = None

    def bind(self, weights_key: str,
             encode: Optional[Callable[[List[str]], Tensor]] = None) -> None:
        """Use the shard of these weights (drops entries of other weights).

        Args:
            weights_key: :func:`hash_module_weights` of the tower.
            encode: The tower's uncached encoder; with it, one entry of a
                shard read from disk is recomputed and compared.
        """
        if weights_key == self._key:
            return
        self._key = weights_key
        self._store = OrderedDict()
        path = self._path()
        if path and osp.isfile(path):
            problem = self._load(path, encode)
            if problem:
                self._store = OrderedDict()
                warnings.warn(f'text-feature cache {path} not used ({problem}); '
                              'its prompts are encoded again and the file '
                              'rewritten', stacklevel=3)

    def _load(self, path: str,
              encode: Optional[Callable[[List[str]], Tensor]]) -> str:
        """Fill the store from a shard; the reason it is unusable, or ''."""
        try:
            data = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:  # truncated, not a torch file, a pickle ...
            return f'unreadable: {type(e).__name__}'
        texts = data.get('texts') if isinstance(data, dict) else None
        feats = data.get('features') if isinstance(data, dict) else None
        if not (isinstance(texts, list) and all(isinstance(t, str)
                                                for t in texts)
                and isinstance(feats, Tensor) and feats.dim() == 2
                and feats.is_floating_point() and len(texts) == len(feats)):
            return 'not a {texts, features[N, D]} shard'
        if not bool(torch.isfinite(feats).all()):
            return 'non-finite features'
        if len(feats) and not torch.allclose(
                feats.float().norm(dim=-1), torch.ones(len(feats)),
                atol=1e-3):
            return 'features that are not unit vectors'
        if len(texts) and encode is not None:
            fresh = encode([texts[0]]).detach().float().cpu()
            if fresh.shape[-1] != feats.shape[-1] or not torch.allclose(
                    fresh[0], feats[0].float(), atol=1e-4):
                return f'its entry for {texts[0]!r} is not what these weights ' \
                    'encode'
        self._store = OrderedDict(zip(texts, feats))
        return ''

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
            self._store.move_to_end(text)
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)  # least recently used
        path = self._path()
        if path and texts:
            names = list(self._store)
            with atomic_open(path, suffix='.tmp') as f:
                torch.save(dict(texts=names, features=torch.stack(
                    [self._store[n] for n in names])), f)

    def get(self, texts: List[str]) -> Tensor:
        """Stack cached features of ``texts`` (all must be present)."""
        for text in texts:
            self._store.move_to_end(text)
        return torch.stack([self._store[t] for t in texts])

    def clear(self) -> None:
        """Forget the in-memory entries (the disk shard stays)."""
        self._store = OrderedDict()
        self._key = None

    def __len__(self) -> int:
        return len(self._store)
