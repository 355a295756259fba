"""classifiers of granzsl_mm."""

__all__: list = []

from .granzsl import GranZSL  # noqa: E402

__all__ += ['GranZSL']
