"""Lazy package attributes (PEP 562).

A package ``__init__`` that lists its public names here imports the module
behind a name only when the name is first used, so importing a light
sub-module (a functional core) does not pull in the framework.
MMPretrain's and timm's package ``__init__``s import their sub-modules
eagerly (MMPretrain defers only the registration of its modules, through
the registries' ``locations``, as :mod:`granzsl_mm.registry` does too).
"""
import importlib
import sys
from typing import Callable, Dict, Iterable, List, Tuple

__all__ = ['attach']


def attach(package: str, submodules: Iterable[str] = (),
           attributes: Dict[str, str] = None
           ) -> Tuple[Callable[[str], object], Callable[[], List[str]]]:
    """Build ``__getattr__`` and ``__dir__`` for a package with lazy names.

    Args:
        package (str): The package's ``__name__``.
        submodules (Iterable[str]): Sub-modules reachable as attributes.
        attributes (dict, optional): Public name -> module (relative to the
            package, e.g. ``'.snippet_tta'``) that defines it.

    Returns:
        tuple: ``(__getattr__, __dir__)`` to assign in the package.
    """
    submodules = set(submodules)
    attributes = dict(attributes or {})

    def __getattr__(name: str) -> object:
        if name in attributes:
            value = getattr(importlib.import_module(attributes[name], package),
                            name)
        elif name in submodules:
            value = importlib.import_module(f'{package}.{name}')
        else:
            raise AttributeError(
                f'module {package!r} has no attribute {name!r}')
        setattr(sys.modules[package], name, value)  # later look-ups are plain
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[package])) | submodules
                      | set(attributes))

    return __getattr__, __dir__
