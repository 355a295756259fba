"""Models: CLIP backbones and text towers, heads, classifiers, losses, TTA."""
from . import backbones, classifiers, heads, layers, losses, text, tta  # noqa: F401

__all__ = ['backbones', 'classifiers', 'heads', 'layers', 'losses', 'text', 'tta']

from .data_preprocessors import TextImageDataPreprocessor  # noqa: E402

__all__ += ['TextImageDataPreprocessor']

from . import pretrain  # noqa: E402,F401

__all__ += ['pretrain']

from .pseudo_labels import clip_class_similarity, clip_pseudo_labels  # noqa: E402

__all__ += ['clip_class_similarity', 'clip_pseudo_labels']
