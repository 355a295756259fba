"""Keep checkpoints in the safe form, which ``weights_only`` loading accepts."""
from mmengine.hooks import Hook

from granzsl_mm.registry import HOOKS
from granzsl_mm.utils.safe_checkpoint import from_safe_form, to_safe_form

__all__ = ['SafeFormHook']


@HOOKS.register_module()
class SafeFormHook(Hook):
    """Save checkpoints in the safe form and undo it when one is loaded.

    mmengine 0.10.7 pickles ``HistoryBuffer`` and NumPy objects (message
    hub, metadata) into checkpoints, which ``torch.load`` refuses under
    torch >= 2.6. Before a checkpoint is saved, this hook replaces them by
    tagged tensors and numbers (:func:`~granzsl_mm.utils.safe_checkpoint.
    to_safe_form`), so the file loads with ``weights_only=True`` -- in
    ``Runner.resume`` / ``load_from`` with mmengine's own loader, and with a
    bare ``torch.load``. After a checkpoint is loaded it restores the objects
    mmengine expects (``from_safe_form``; a no-op for other checkpoints).

    Its priority is ``'LOWEST'`` so that on saving it sees what every other
    hook added; hooks that read NumPy or ``HistoryBuffer`` objects from a
    loaded checkpoint should use a priority below it (none of mmengine's or
    ours does).
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Replace the checkpoint's content by its safe form (in place)."""
        for key in list(checkpoint):
            checkpoint[key] = to_safe_form(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild the objects the safe form stands for (in place)."""
        for key in list(checkpoint):
            checkpoint[key] = from_safe_form(checkpoint[key])
