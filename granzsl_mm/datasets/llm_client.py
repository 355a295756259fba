"""Deprecated: an alias of its new home, kept for one release."""
from granzsl_mm.utils.deprecation import moved_module

moved_module(__name__, 'granzsl_mm.datasets.descriptions.llm_client')
