"""Evaluation: functional metrics, mmengine metric wrappers and reports.

``functional`` (NumPy/torch only) loads eagerly; ``metrics`` (mmengine) and
``reports`` load on first use. Registered types are imported by
:mod:`granzsl_mm.evaluation.metrics` (the registries' location).
"""
from granzsl_mm.utils.lazy import attach

from . import functional  # noqa: F401
from .functional import multilabel_zsl_metrics, per_class_ap

__all__ = ['functional', 'metrics', 'reports', 'multilabel_zsl_metrics',
           'per_class_ap', 'ZSLMultiLabelMetric',
           'StreamingZSLMultiLabelMetric', 'OpenImagesZSLMetric']

__getattr__, __dir__ = attach(
    __name__, submodules=('metrics', 'reports'),
    attributes={name: '.metrics' for name in (
        'ZSLMultiLabelMetric', 'StreamingZSLMultiLabelMetric',
        'OpenImagesZSLMetric')})
