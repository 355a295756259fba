"""Our CheckpointHook: the ``last_checkpoint`` pointer replaced atomically,
and optionally no best checkpoint for a score that does not exceed a floor
(GranZSL's reference selection)."""
import math
import os
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.hooks import CheckpointHook

from granzsl_mm.registry import HOOKS

__all__ = ['AtomicCheckpointHook', 'POINTER_FILE']

POINTER_FILE = 'last_checkpoint'
_STAGING = '.last_checkpoint.staging'


class _StagingRunner:
    """The runner as CheckpointHook sees it, but with ``work_dir`` a staging
    folder: mmengine 0.10.7 writes the pointer with a plain ``open`` into
    ``runner.work_dir`` (its only use of ``work_dir`` when saving)."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    @property
    def work_dir(self) -> str:
        staging = osp.join(self._runner.work_dir, _STAGING)
        os.makedirs(staging, exist_ok=True)
        return staging

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runner, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's :class:`~mmengine.hooks.CheckpointHook`, with the
    ``last_checkpoint`` pointer written to a staging file, synced and renamed
    into place: a run killed at any moment leaves the previous pointer or the
    new one, so ``--resume`` always finds a complete checkpoint.

    Pair it with ``backend_args=dict(backend='granzsl_atomic')``
    (:data:`granzsl_mm.engine.ATOMIC_BACKEND_ARGS`) for atomic checkpoint
    files, and :class:`~granzsl_mm.engine.SafeFormHook` for their safe form;
    ``configs/_base_/default_runtime.py`` sets all three.

    Args:
        *args: CheckpointHook's.
        best_above (float, optional): With ``save_best`` and
            ``rule='greater'``: a best checkpoint is named only for a score
            strictly above this value (mmengine starts from minus infinity,
            so its first evaluation is always "best"). GranZSL's reference
            starts its bests at 0 and compares strictly, and its F1@3 is NaN
            when no top-3 label is right: with ``best_above=0`` an F1@3 of 0
            names no best, as there. Each evaluation that names none logs a
            line; a run that ends without a best for a key logs a warning
            saying so.
        **kwargs: CheckpointHook's.
    """

    def __init__(self, *args, best_above: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.best_above = None if best_above is None else float(best_above)
        if self.best_above is None:
            return
        if not self.save_best or 'auto' in self.save_best:
            raise ValueError('best_above needs save_best with named keys')
        if not math.isfinite(self.best_above) or any(
                r != 'greater' for r in self.rules):
            raise ValueError("best_above needs rule='greater' and a finite "
                             f'floor, got {self.rules} / {best_above!r}')
        # the starting "best" of every key: mmengine's -inf -> the floor
        self.init_value_map = dict(self.init_value_map,
                                   greater=self.best_above)

    def _best_score_keys(self) -> Dict[str, str]:
        """Message-hub key of each indicator's best score (mmengine's)."""
        if len(self.key_indicators) == 1:
            return {self.key_indicators[0]: 'best_score'}
        return {k: f'best_score_{k}' for k in self.key_indicators}

    def _without_best(self, runner) -> List[str]:
        info = runner.message_hub.runtime_info
        return [k for k, hub_key in self._best_score_keys().items()
                if hub_key not in info]

    def _save_best_checkpoint(self, runner, metrics) -> None:
        super()._save_best_checkpoint(runner, metrics)
        if self.best_above is None:
            return
        for key in self._without_best(runner):
            runner.logger.info(
                f'{key} = {metrics.get(key)} is not above {self.best_above}'
                f' (epoch {runner.epoch}, iteration {runner.iter}): no best '
                'checkpoint is named for it yet')

    def after_train(self, runner) -> None:
        """Say which keys ended without a best checkpoint (``best_above``)."""
        super().after_train(runner)
        if self.best_above is None:
            return
        for key in self._without_best(runner):
            runner.logger.warning(
                f'No evaluation had {key} above {self.best_above}: no best '
                f'checkpoint was written for it (GranZSL\'s reference writes '
                'none either when its F1@3 is 0 at every epoch)')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        super()._save_checkpoint_with_step(_StagingRunner(runner), step, meta)
        staging = osp.join(runner.work_dir, _STAGING)
        staged = osp.join(staging, POINTER_FILE)
        if not osp.isfile(staged):  # not the main process
            return
        with open(staged, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(staged, osp.join(runner.work_dir, POINTER_FILE))
        try:
            os.rmdir(staging)
        except OSError:  # another file appeared: leave the folder
            pass
