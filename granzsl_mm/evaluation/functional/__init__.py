"""NumPy (and torch.topk) multi-label ZSL/GZSL metrics (no mmengine)."""
from .chance import chance_map, expected_random_ap
from .multilabel_ap import (
                            multilabel_zsl_metrics,
                            per_class_ap,
                            topk_hits,
                            validate_scores_targets,
)

__all__ = ['chance_map', 'expected_random_ap', 'multilabel_zsl_metrics',
           'per_class_ap', 'topk_hits', 'validate_scores_targets']
