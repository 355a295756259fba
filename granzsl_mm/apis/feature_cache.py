"""Frozen-backbone feature cache: extract once, score any vocabulary later.

The cache directory's layout, its disk size per image and the resume rule
are described in :mod:`.feature_store`.

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
