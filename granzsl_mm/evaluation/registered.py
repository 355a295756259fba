"""Every evaluation module that registers a type (the registries' location).

``granzsl_mm.registry`` names this module as the location of the METRICS,
EVALUATORS, VISUALIZERS and VISBACKENDS registries, so a config with
``default_scope='granzsl_mm'`` finds our types without
``register_all_modules``. ``metrics/__init__.py`` imports every metric.
"""
from . import metrics  # noqa: F401

__all__: list = []
