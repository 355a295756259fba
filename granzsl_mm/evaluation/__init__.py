"""Evaluation: functional metrics, mmengine metric wrappers and reports."""
from . import functional, metrics, reports  # noqa: F401
from .functional import multilabel_zsl_metrics, per_class_ap
from .metrics import ZSLMultiLabelMetric

__all__ = ['functional', 'metrics', 'reports', 'multilabel_zsl_metrics',
           'per_class_ap', 'ZSLMultiLabelMetric']
