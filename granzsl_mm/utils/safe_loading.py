"""Opt-in: route mmengine's own local checkpoint loading through the codec.

Runs built from our configs (or by our tools) need nothing of this: their
checkpoints are in the safe form (:class:`granzsl_mm.engine.SafeFormHook`),
which mmengine's plain ``torch.load`` reads under torch >= 2.6. User code
that calls ``mmengine.runner.load_checkpoint`` (or ``CheckpointLoader``)
directly and wants the safe form undone, NumPy arrays of other tools loaded,
pickles refused with a clear error, or ``set_checkpoint_trust`` honoured,
calls :func:`install_safe_loading` once; :func:`uninstall_safe_loading`
puts mmengine's loader back. Our ``tools/train.py`` and ``tools/test.py``
install it (they own their process). ``import granzsl_mm`` never does.

Example:
    >>> from granzsl_mm.utils import install_safe_loading
    >>> install_safe_loading()       # idempotent
    >>> # mmengine.runner.load_checkpoint(model, 'epoch_1.pth') ...
    >>> uninstall_safe_loading()     # mmengine's loader again
"""
from typing import Callable, Optional

from .safe_checkpoint import load_local_checkpoint

__all__ = ['install_safe_loading', 'uninstall_safe_loading',
           'safe_loading_installed']

_LOCAL_PREFIX = ''
_previous: Optional[Callable] = None


def _schemes() -> dict:
    from mmengine.runner.checkpoint import CheckpointLoader
    return CheckpointLoader._schemes


def safe_loading_installed() -> bool:
    """Whether mmengine's local loader is ours now.

    Returns:
        bool: True between :func:`install_safe_loading` and
        :func:`uninstall_safe_loading`.
    """
    return _schemes().get(_LOCAL_PREFIX) is load_local_checkpoint


def install_safe_loading() -> None:
    """Make mmengine load local checkpoints with :func:`safe_torch_load`.

    Registers :func:`~granzsl_mm.utils.safe_checkpoint.load_local_checkpoint`
    as mmengine's ``CheckpointLoader`` scheme for local paths (the empty
    prefix), remembering the loader it replaces. Calling it again does
    nothing. Process-wide: every mmengine checkpoint load of the process
    (``load_checkpoint``, ``Runner.load_checkpoint``, ``Runner.resume``) uses
    it until :func:`uninstall_safe_loading`.
    """
    global _previous
    if safe_loading_installed():
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    _previous = _schemes().get(_LOCAL_PREFIX)
    CheckpointLoader.register_scheme(
        prefixes=_LOCAL_PREFIX, loader=load_local_checkpoint, force=True)


def uninstall_safe_loading() -> None:
    """Put back the local loader :func:`install_safe_loading` replaced.

    Does nothing when the safe loader is not installed.
    """
    global _previous
    if not safe_loading_installed() or _previous is None:
        return
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes=_LOCAL_PREFIX, loader=_previous, force=True)
    _previous = None

