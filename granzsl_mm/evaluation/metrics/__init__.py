"""mmengine metric wrappers of the functional ZSL/GZSL metrics."""
from .streaming_zsl_metric import StreamingZSLMultiLabelMetric
from .zsl_multilabel_metric import ZSLMultiLabelMetric

__all__ = ['ZSLMultiLabelMetric', 'StreamingZSLMultiLabelMetric']
