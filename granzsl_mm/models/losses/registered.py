"""Every loss module that registers a type (imported by
:mod:`granzsl_mm.models.registered`)."""
from . import masked_bce, name_alignment, pair_distinct, ranking, spml  # noqa: F401

__all__: list = []
