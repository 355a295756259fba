"""losses of granzsl_mm."""

__all__: list = []

from .name_alignment import NameAlignmentLoss, name_alignment_loss  # noqa: E402
from .pair_distinct import PairDistinctLoss, pair_distinct_loss  # noqa: E402

__all__ += ['name_alignment_loss', 'NameAlignmentLoss', 'pair_distinct_loss',
            'PairDistinctLoss']
