"""Refuse a loaded checkpoint that does not fit the model, before it is used.

mmengine loads ``load_from`` and ``--resume`` checkpoints with
``strict=False``: a checkpoint of another model, of another class count or
with foreign keys gives only "missing / unexpected key" log lines and then a
run on partly random weights (metrics near chance, or a resumed training
from random names). This hook runs the one fit check of the weights door,
:func:`granzsl_mm.apis.weights.check_checkpoint_fits`, in
``after_load_checkpoint``, which mmengine calls after reading the file and
before the weights reach the model, so every entry point that loads through
a Runner (``tools/test.py``, ``train.py`` with ``load_from`` or
``--resume``, ``dist_test.sh``, ``dist_train.sh``) refuses the same files as
``tools/infer.py``.

It also says, once, in the run's log before training or testing starts,
which CLIP weights the model runs on (``random CLIP tower`` when a tower is
random), after a loaded checkpoint that carries whole towers replaced them
(:mod:`granzsl_mm.models.backbones.tower_weights`).
"""
import logging
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper

from granzsl_mm.registry import HOOKS

__all__ = ['CheckpointFitHook']


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Raise :class:`~granzsl_mm.apis.weights.CheckpointMismatchError` when
    a loaded checkpoint does not fit the runner's model.

    Args:
        option (str): How the user gave the checkpoint (error messages).
        missing_ok (Sequence[str]): Name prefixes of model tensors the
            checkpoint may lack because the model initialises them itself
            (a config that starts from another stage's checkpoint says so).
    """

    priority = 'VERY_LOW'

    def __init__(self, option: str = 'the checkpoint',
                 missing_ok: Sequence[str] = ()) -> None:
        self.option = option
        self.missing_ok = tuple(missing_ok)
        self._announced = False

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check ``checkpoint`` against the model (nothing is loaded yet)."""
        from granzsl_mm.apis.weights import check_checkpoint_fits
        from granzsl_mm.models.backbones.tower_weights import mark_checkpoint_towers
        model = _unwrapped(runner.model)
        # mmengine keeps the file it read (load_from, or the resumed one)
        source = getattr(runner, '_load_from', None)
        source = source if isinstance(source, str) else None
        state = check_checkpoint_fits(model, checkpoint, option=self.option,
                                      source=source,
                                      missing_ok=self.missing_ok)
        mark_checkpoint_towers(model, state, source or 'the checkpoint')

    def before_train(self, runner) -> None:
        """Log which CLIP weights the model trains on."""
        self._announce(runner)

    def before_test(self, runner) -> None:
        """Log which CLIP weights the model is tested on."""
        self._announce(runner)

    def _announce(self, runner) -> None:
        from granzsl_mm.models.backbones.tower_weights import (
            RANDOM_TOWER_NOTE,
            tower_weights_line,
        )
        line = None if self._announced else tower_weights_line(
            _unwrapped(runner.model))
        if line is not None:
            self._announced = True
            runner.logger.log(logging.WARNING if RANDOM_TOWER_NOTE in line
                              else logging.INFO, line)


def _unwrapped(model):
    """What mmengine loads into: the model inside DDP / TTA wrappers."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model
