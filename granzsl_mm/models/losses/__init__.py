"""Losses of granzsl_mm: functions on tensors and registered wrappers.

The loss functions live in :mod:`granzsl_mm.models.losses.functional`
(torch only) and load eagerly; the registered ``nn.Module`` wrappers
(mmengine registry) load on first use, or all at once through
:mod:`granzsl_mm.models.registered`.
"""
from granzsl_mm.utils.lazy import attach

from . import functional  # noqa: F401
from .functional import (
    dual_asymmetric_loss,
    hinge_ranking_loss,
    masked_bce_loss,
    multi_matching_loss,
    name_alignment_loss,
    pair_distinct_loss,
    ranking_loss,
    spml_loss,
    spml_loss_matrix,
)

__all__ = [
    'functional', 'name_alignment_loss', 'NameAlignmentLoss',
    'pair_distinct_loss', 'PairDistinctLoss', 'spml_loss', 'spml_loss_matrix',
    'SPMLLoss', 'masked_bce_loss', 'MaskedBCELoss', 'ranking_loss',
    'RankingLoss', 'L1DistillLoss', 'dual_asymmetric_loss',
    'DualAsymmetricLoss', 'multi_matching_loss', 'MultiMatchingLoss',
    'hinge_ranking_loss', 'HingeRankingLoss'
]

__getattr__, __dir__ = attach(
    __name__,
    submodules=('asymmetric', 'hinge_ranking', 'masked_bce', 'multi_matching',
                'name_losses', 'ranking', 'spml'),
    attributes={'NameAlignmentLoss': '.name_losses',
                'PairDistinctLoss': '.name_losses',
                'SPMLLoss': '.spml', 'MaskedBCELoss': '.masked_bce',
                'RankingLoss': '.ranking', 'L1DistillLoss': '.ranking',
                'DualAsymmetricLoss': '.asymmetric',
                'HingeRankingLoss': '.hinge_ranking',
                'MultiMatchingLoss': '.multi_matching'})
