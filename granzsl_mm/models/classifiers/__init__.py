"""classifiers of granzsl_mm."""

__all__: list = []

from .base import MultiLabelClassifierBase  # noqa: E402

__all__ += ['MultiLabelClassifierBase']

from .granzsl import GranZSL  # noqa: E402

__all__ += ['GranZSL']

from .zero_shot import ZeroShotMultiLabelClassifier, topk_patch_scores  # noqa: E402

__all__ += ['ZeroShotMultiLabelClassifier', 'topk_patch_scores']

from .mkt import MKT, mkt_local_scores, normalized_average_scores  # noqa: E402

__all__ += ['MKT', 'mkt_local_scores', 'normalized_average_scores']

from .sigrl import SigRL  # noqa: E402

__all__ += ['SigRL']

from .mkt_stage2 import MKTPromptTuning  # noqa: E402

__all__ += ['MKTPromptTuning']

from .dualcoop import DualCoOp, region_aggregated_logits  # noqa: E402

__all__ += ['DualCoOp', 'region_aggregated_logits']

from .recover_match import RecoverMatch  # noqa: E402

__all__ += ['RecoverMatch']

from .taidpt import TaIDPT, double_grained_logits  # noqa: E402

__all__ += ['TaIDPT', 'double_grained_logits']
