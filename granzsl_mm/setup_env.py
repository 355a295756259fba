"""Registration of every module of MMPretrain and granzsl_mm."""
import datetime
import warnings

from mmengine import DefaultScope

__all__ = ['register_all_modules']


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import MMPretrain's modules, then ours, so all registries are filled.

    Importing also installs the safe checkpoint loader (see
    :mod:`granzsl_mm.utils.safe_checkpoint`), so mmengine's own loading paths
    work under torch >= 2.6 without executing untrusted pickles.

    Args:
        init_default_scope (bool): Set the default scope to ``granzsl_mm``.
            Defaults to True.
    """
    from mmpretrain.utils import register_all_modules as mmpretrain_register
    mmpretrain_register(init_default_scope=False)

    import granzsl_mm.apis  # noqa: F401
    import granzsl_mm.datasets  # noqa: F401
    import granzsl_mm.engine  # noqa: F401
    import granzsl_mm.evaluation  # noqa: F401
    import granzsl_mm.models  # noqa: F401
    from granzsl_mm.utils.safe_checkpoint import install_safe_checkpoint
    install_safe_checkpoint()

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
