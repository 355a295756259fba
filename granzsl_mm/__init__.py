"""granzsl_mm: zero-shot multi-label recognition with CLIP, as an MMPretrain
plugin (GranZSL, SigRL, MKT and single-positive multi-label learning)."""
import importlib.util

if importlib.util.find_spec('mmcv') is None:  # pragma: no cover - env check
    raise ImportError(
        'granzsl_mm needs the `mmcv` module. Install `mmcv-lite` (no compiled '
        'ops, enough for MMPretrain): `pip install "mmcv-lite>=2.0"`, or a full '
        '`mmcv>=2.0` build; then `pip install -e .` (a full `mmcv` user may '
        'skip the `lite` extra).')

from .setup_env import register_all_modules  # noqa: E402
from .utils.safe_checkpoint import install_safe_checkpoint  # noqa: E402
from .version import __version__  # noqa: E402

# mmengine's own checkpoint paths work (safely) as soon as we are imported.
install_safe_checkpoint()

__all__ = ['__version__', 'register_all_modules', 'get_model', 'list_models']


def __getattr__(name: str):
    # Lazy: building models pulls in open_clip, which plain imports avoid.
    if name in ('get_model', 'list_models'):
        from .apis import model_zoo
        return getattr(model_zoo, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
