"""Child registries of MMPretrain's, scope ``granzsl_mm``.

Every registry here has the MMPretrain registry of the same name as its
parent, so an MMPretrain type (``ResNet``, ``MultiLabelLinearClsHead``, ...)
resolves from configs whose ``default_scope`` is ``granzsl_mm``, and our types
resolve from MMPretrain-scoped configs as ``granzsl_mm.TypeName``.

Each registry's location is a module that imports every module registering a
type of that kind (``engine``, ``datasets``, ``models.registered``,
``evaluation.metrics``): mmengine imports it on the first look-up, so a
config with ``default_scope='granzsl_mm'`` finds our types without
:func:`granzsl_mm.register_all_modules`.
"""
import importlib
import importlib.util
import sys


def _missing(module: str) -> bool:
    """Whether ``module`` cannot be imported in this interpreter."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def check_environment() -> None:
    """Tell "not in this environment" from "mmcv missing" before the imports.

    Raises:
        ImportError: ``mmengine`` or ``mmpretrain`` is missing (most often:
            the project's virtual environment is not active), or only
            ``mmcv`` is missing (install ``mmcv-lite``).
    """
    absent = [m for m in ('mmengine', 'mmpretrain') if _missing(m)]
    if absent:
        raise ImportError(
            f'{" and ".join(absent)} (needed by granzsl_mm) are not in this '
            f'Python environment ({sys.executable}). If you set up with '
            '`make demo` / `make test`, everything is in the repository\'s '
            '.venv: activate it (`. .venv/bin/activate`) or run '
            '`.venv/bin/python ...`; otherwise install the project here with '
            '`pip install -e ".[lite]"`.')
    if _missing('mmcv'):
        raise ImportError(
            'granzsl_mm needs the `mmcv` module (mmengine and MMPretrain are '
            f'installed in {sys.executable}, mmcv is not). Install '
            '`mmcv-lite` (no compiled ops, enough for MMPretrain): '
            '`pip install "mmcv-lite>=2.0"` (the `lite` extra), or a full '
            '`mmcv>=2.0` build.')


check_environment()

from mmengine.registry import Registry  # noqa: E402
from mmpretrain import registry as mmpretrain_registry  # noqa: E402

__all__ = [
    'check_environment', 'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS',
    'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'BATCH_AUGMENTS', 'TASK_UTILS',
    'METRICS', 'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'LOCATIONS',
    'import_registered_modules'
]

_SCOPE = 'granzsl_mm'

#: Wing -> the module that imports every registering module of that wing.
LOCATIONS = {
    'engine': 'granzsl_mm.engine',
    'datasets': 'granzsl_mm.datasets',
    'models': 'granzsl_mm.models.registered',
    'evaluation': 'granzsl_mm.evaluation.metrics',
}


def import_registered_modules() -> None:
    """Import MMPretrain's registering modules, then ours (the locations).

    What building a config needs and nothing more: no default scope is set,
    no other library's tables are touched (that is
    :func:`granzsl_mm.register_all_modules`).
    """
    from mmpretrain.utils import register_all_modules as mmpretrain_register
    mmpretrain_register(init_default_scope=False)
    for location in LOCATIONS.values():
        importlib.import_module(location)


def _child(name: str, parent: Registry, location: str) -> Registry:
    """Create a child registry of an MMPretrain registry in our scope.

    Its locations are ours plus the parent's: a look-up in our scope falls
    back to the parent's types without importing the parent's modules, so
    they are imported with ours (MMPretrain's ``UniversalVisualizer`` is
    found whatever was imported before).
    """
    return Registry(
        name, parent=parent, scope=_SCOPE,
        locations=[LOCATIONS[location], *getattr(parent, '_locations', [])])


RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, 'engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             mmpretrain_registry.RUNNER_CONSTRUCTORS, 'engine')
LOOPS = _child('loop', mmpretrain_registry.LOOPS, 'engine')
HOOKS = _child('hook', mmpretrain_registry.HOOKS, 'engine')
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS,
                        'engine')
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS, 'engine')
OPTIM_WRAPPERS = _child('optimizer_wrapper',
                        mmpretrain_registry.OPTIM_WRAPPERS, 'engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'engine')
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmpretrain_registry.PARAM_SCHEDULERS, 'engine')

DATASETS = _child('dataset', mmpretrain_registry.DATASETS, 'datasets')
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       'datasets')
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS, 'datasets')

MODELS = _child('model', mmpretrain_registry.MODELS, 'models')
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        'models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS, 'models')
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS,
                        'models')
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS, 'models')

METRICS = _child('metric', mmpretrain_registry.METRICS, 'evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS, 'evaluation')

VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS,
                     'evaluation')
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS,
                     'evaluation')
