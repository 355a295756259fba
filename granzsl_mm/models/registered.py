"""Every model module that registers a type (the registries' location).

``granzsl_mm.registry`` names this module as the location of the MODELS,
MODEL_WRAPPERS, WEIGHT_INITIALIZERS, BATCH_AUGMENTS and TASK_UTILS
registries, so a config with ``default_scope='granzsl_mm'`` finds our types
without ``register_all_modules``. A new registered module is added here
(``tests/foundation/test_registry_locations.py`` checks it).
"""
from . import (  # noqa: F401
    backbones,
    classifiers,
    data_preprocessors,
    heads,
    layers,
    pretrain,
    resized_data_preprocessor,
    text,
)
from .losses import (  # noqa: F401
    asymmetric,
    hinge_ranking,
    masked_bce,
    multi_matching,
    name_losses,
    ranking,
    spml,
)
from .tta import snippet_tta  # noqa: F401

__all__: list = []
