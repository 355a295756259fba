"""heads of granzsl_mm."""

__all__: list = []

from .class_name_learner import ClassNameLearner  # noqa: E402

__all__ += ['ClassNameLearner']

from .spml_head import SPMLLinearClsHead, stack_multilabel_targets  # noqa: E402

__all__ += ['SPMLLinearClsHead', 'stack_multilabel_targets']

from .sigrl_head import (  # noqa: E402
    SemanticDecoupling,
    SemanticVisualReconstruction,
    SigRLHead,
    bridge_features,
)

__all__ += ['SemanticDecoupling', 'SemanticVisualReconstruction', 'SigRLHead',
            'bridge_features']

from .prompt_context_learner import PromptContextLearner  # noqa: E402

__all__ += ['PromptContextLearner']

from .context_prompt_learner import ContextPromptLearner  # noqa: E402

__all__ += ['ContextPromptLearner']

from .ladder_local_adapter import LadderLocalAdapter  # noqa: E402

__all__ += ['LadderLocalAdapter']
