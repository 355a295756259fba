"""granzsl_mm: zero-shot multi-label recognition with CLIP, as an MMPretrain
plugin (GranZSL, SigRL, MKT and single-positive multi-label learning).

Importing the package loads nothing of mmengine, MMPretrain or open_clip and
changes nothing in other libraries: the wings load on first use, and
framework behaviour (safe checkpoints) is set in configs and by the tools.
"""
from .utils.lazy import attach
from .version import __version__

__all__ = ['__version__', 'register_all_modules', 'get_model', 'list_models',
           'list_clip_models']

__getattr__, __dir__ = attach(
    __name__,
    submodules=('apis', 'datasets', 'engine', 'evaluation', 'models',
                'proving_ground', 'registry', 'setup_env', 'structures',
                'utils', 'web_app'),
    attributes={'register_all_modules': '.setup_env',
                'get_model': '.apis.model_zoo',
                'list_models': '.apis.model_zoo',
                'list_clip_models': '.apis.clip_models'})
