"""Loss functions on tensors (torch only: no mmengine, mmpretrain, open_clip).

The registered ``nn.Module`` wrappers of :mod:`granzsl_mm.models.losses`
call these; import them from here (or from ``granzsl_mm.models.losses``)
to compute a loss without loading the framework.
"""
from .asymmetric import dual_asymmetric_loss
from .hinge_ranking import hinge_ranking_loss
from .masked_bce import BCE_REDUCTIONS, masked_bce_loss
from .multi_matching import multi_matching_loss
from .name_losses import name_alignment_loss, pair_distinct_loss
from .optimal_transport import kcot_plan, sinkhorn
from .ranking import ranking_loss
from .spml import LOG_EPS, SPML_MODES, neglog, spml_loss, spml_loss_matrix

__all__ = [
    'name_alignment_loss', 'pair_distinct_loss', 'ranking_loss',
    'spml_loss', 'spml_loss_matrix', 'neglog', 'SPML_MODES', 'LOG_EPS',
    'masked_bce_loss', 'BCE_REDUCTIONS', 'dual_asymmetric_loss',
    'multi_matching_loss', 'sinkhorn', 'kcot_plan', 'hinge_ranking_loss'
]
