"""Models: CLIP backbones and text towers, heads, classifiers, losses, TTA.

Sub-packages load on first use, so the functional cores
(:mod:`granzsl_mm.models.losses.functional`,
:mod:`granzsl_mm.models.tta.snippets`) import without mmengine. Registered
types are imported by :mod:`granzsl_mm.models.registered` (the registries'
location).
"""
from granzsl_mm.utils.lazy import attach

__all__ = ['backbones', 'classifiers', 'converters', 'heads', 'layers',
           'losses', 'pretrain', 'text', 'tta', 'TextImageDataPreprocessor',
           'ResizedClsDataPreprocessor']

__getattr__, __dir__ = attach(
    __name__,
    submodules=('backbones', 'classifiers', 'converters', 'data_preprocessors',
                'heads', 'layers', 'losses', 'pretrain',
                'registered', 'resized_data_preprocessor', 'text', 'tta'),
    attributes={'TextImageDataPreprocessor': '.data_preprocessors',
                'ResizedClsDataPreprocessor': '.resized_data_preprocessor'})
