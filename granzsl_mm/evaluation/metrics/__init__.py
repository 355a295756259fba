"""mmengine metric wrappers of the functional ZSL/GZSL metrics."""
from .openimages_zsl_metric import OpenImagesZSLMetric
from .safe_dump_results import SafeDumpResults
from .streaming_zsl_metric import StreamingZSLMultiLabelMetric
from .zsl_multilabel_metric import ZSLMultiLabelMetric

__all__ = ['ZSLMultiLabelMetric', 'StreamingZSLMultiLabelMetric',
           'OpenImagesZSLMetric', 'SafeDumpResults']
