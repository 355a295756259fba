"""Models: CLIP backbones and text towers, heads, classifiers, losses, TTA."""
from . import backbones, classifiers, heads, layers, losses, text, tta  # noqa: F401

__all__ = ['backbones', 'classifiers', 'heads', 'layers', 'losses', 'text', 'tta']

from .data_preprocessors import TextImageDataPreprocessor  # noqa: E402

__all__ += ['TextImageDataPreprocessor']
