"""Frozen-backbone feature cache: extract once, score any vocabulary later.

GranZSL (and any method with a frozen image tower) scores images as cosines
between fixed image features and class embeddings. Caching the image side
turns a validation pass into a few matrix products: per-epoch validation in
seconds instead of re-running the image tower, and any learned class names
or vocabulary can be scored from the same cache.

Layout of a cache directory (NumPy ``.npy`` files, opened memory-mapped)::

    meta.json        num_images, embed_dim, dense (positions or null), dtypes
    global.npy       [N, D]     global image embeddings (float32 or float16)
    dense.npy        [N, P, D]  dense (ClearCLIP) features, optional
    gt_score.npy     [N, C]     labels in {1, 0, -1} (int8), when known
    done.npy         [N]        1 where the row is written (resume marker)

Rows are flushed before their ``done`` flag: an interrupted extraction
restarts on the missing rows only. meta.json records a fingerprint of the
backbone weights: resuming (or re-creating) a cache with other weights is
refused.

Storage: :mod:`.feature_store`; filling it: :mod:`.feature_extraction`;
scoring from it: :mod:`.cached_scoring` (this module re-exports their names).
"""
from .cached_scoring import cached_scores, evaluate_cached
from .feature_extraction import extract_features
from .feature_store import (
    FeatureCache,
    backbone_fingerprint,
    cache_bytes_per_image,
    describe_cache_size,
)

__all__ = ['FeatureCache', 'extract_features', 'cached_scores', 'evaluate_cached',
           'backbone_fingerprint', 'cache_bytes_per_image',
           'describe_cache_size']
