"""CheckpointHook whose ``last_checkpoint`` pointer is replaced atomically."""
import os
import os.path as osp
from typing import Any

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
    ``configs/_base_/default_runtime.py`` sets all three. Arguments are
    CheckpointHook's.
    """

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
