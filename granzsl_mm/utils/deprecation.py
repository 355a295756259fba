"""Old import paths kept for one release as aliases of their new homes."""
import importlib
import sys
import warnings

__all__ = ['moved_module']


def moved_module(old: str, new: str, removed_in: str = '0.3') -> None:
    """Make module ``old`` an alias of module ``new``, with a warning.

    Called from a shim file at the old path: after it, ``import old`` and
    ``from old import name`` give the new module's objects (the very same
    objects, so registries see each type once).

    Args:
        old (str): The shim's ``__name__``.
        new (str): The module's new dotted path.
        removed_in (str): The release that drops the shim.
    """
    warnings.warn(f'{old} moved to {new}; the old path goes in {removed_in}.',
                  DeprecationWarning, stacklevel=3)
    sys.modules[old] = importlib.import_module(new)
