"""mmengine metric wrappers of the functional ZSL/GZSL metrics."""
from .zsl_multilabel_metric import ZSLMultiLabelMetric

__all__ = ['ZSLMultiLabelMetric']
