"""heads of granzsl_mm."""

__all__: list = []

from .class_name_learner import ClassNameLearner  # noqa: E402

__all__ += ['ClassNameLearner']
