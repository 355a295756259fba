"""NumPy multi-label ZSL/GZSL metrics (no mmengine)."""
from .chance import chance_map, expected_random_ap
from .multilabel_ap import (
                            multilabel_zsl_metrics,
                            per_class_ap,
                            topk_hits,
                            validate_scores_targets,
)
from .openimages_protocol import (
    AP_MODES,
    BIAM_SETTINGS,
    biam_pooled_ap,
    biam_pooled_ap_sparse,
    openimages_metrics,
    openimages_metrics_from_known,
)
from .streaming import sparse_class_ap, stream_label_sets, stream_zsl_metrics

__all__ = ['chance_map', 'expected_random_ap', 'multilabel_zsl_metrics',
           'per_class_ap', 'topk_hits', 'validate_scores_targets',
           'AP_MODES', 'BIAM_SETTINGS', 'biam_pooled_ap',
           'biam_pooled_ap_sparse', 'openimages_metrics',
           'openimages_metrics_from_known', 'sparse_class_ap',
           'stream_label_sets', 'stream_zsl_metrics']
