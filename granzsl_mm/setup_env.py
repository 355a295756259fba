"""Registration of every module of MMPretrain and granzsl_mm."""
import datetime
import importlib
import warnings

__all__ = ['register_all_modules']


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import MMPretrain's modules, then ours, so all registries are filled.

    Ours are the registries' locations (:data:`granzsl_mm.registry.LOCATIONS`),
    which mmengine would also import on the first look-up. Nothing of mmengine
    is patched: checkpoint safety comes from the hooks and the file backend
    the configs name (see ``docs/architecture.md``).

    Args:
        init_default_scope (bool): Set the default scope to ``granzsl_mm``.
            Defaults to True.
    """
    from mmengine import DefaultScope
    from mmpretrain.utils import register_all_modules as mmpretrain_register

    from granzsl_mm.registry import LOCATIONS
    mmpretrain_register(init_default_scope=False)
    for location in LOCATIONS.values():
        importlib.import_module(location)

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('granzsl_mm', scope_name='granzsl_mm')
    elif current.scope_name != 'granzsl_mm':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "granzsl_mm"; register_all_modules switches it.',
                      stacklevel=2)
        DefaultScope.get_instance(f'granzsl_mm-{datetime.datetime.now()}',
                                  scope_name='granzsl_mm')
