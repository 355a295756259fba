"""losses of granzsl_mm."""

__all__: list = []

from .name_alignment import NameAlignmentLoss, name_alignment_loss  # noqa: E402
from .pair_distinct import PairDistinctLoss, pair_distinct_loss  # noqa: E402

__all__ += ['name_alignment_loss', 'NameAlignmentLoss', 'pair_distinct_loss',
            'PairDistinctLoss']

# Single-positive multi-label (SPML) losses and the masked BCE for stock heads.
from .masked_bce import MaskedBCELoss, masked_bce_loss  # noqa: E402
from .spml import SPMLLoss, spml_loss, spml_loss_matrix  # noqa: E402

__all__ += ['spml_loss', 'spml_loss_matrix', 'SPMLLoss', 'masked_bce_loss',
            'MaskedBCELoss']

# BiAM ranking loss and MKT's L1 distillation (MKT / SigRL).
from .ranking import L1DistillLoss, RankingLoss, ranking_loss  # noqa: E402

__all__ += ['ranking_loss', 'RankingLoss', 'L1DistillLoss']
