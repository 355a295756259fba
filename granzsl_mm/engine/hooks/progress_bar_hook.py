"""A tqdm progress bar over training, validation and test iterations."""
from typing import Optional

from mmengine.hooks import Hook

from granzsl_mm.registry import HOOKS

__all__ = ['ProgressBarHook']


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show training / validation / test progress as tqdm bars (rank 0 only).

    mmengine logs training every ``interval`` iterations but shows nothing
    while it evaluates, and runs whose log level hides the per-iteration
    lines (the demo's) show nothing at all; this bar tells how far a stage
    has come. Enable it with ``custom_hooks = [dict(type='ProgressBarHook')]``.

    Args:
        desc (str, optional): Bar label; defaults to the experiment name.
        train (bool): Show a bar over the training iterations (with the loss).
        val (bool): Show a bar over each validation pass.
        test (bool): Show a bar over the test batches.
    """

    priority = 'VERY_LOW'

    def __init__(self, desc: Optional[str] = None, train: bool = True,
                 val: bool = False, test: bool = True) -> None:
        self.desc = desc
        self.stages = dict(train=train, val=val, test=test)
        self._bar = None

    def _open(self, runner, total: int, stage: str) -> None:
        if runner.rank != 0 or not self.stages[stage]:
            return
        from tqdm import tqdm
        # the test bar stays on screen with its final count and rate
        self._bar = tqdm(total=total, leave=stage == 'test', dynamic_ncols=True,
                         desc=f'{self.desc or runner.experiment_name} {stage}')

    def _step(self, **postfix) -> None:
        if self._bar is not None:
            self._bar.update()
            if postfix:
                self._bar.set_postfix(postfix, refresh=False)

    def _close(self, *args, **kwargs) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_train(self, runner) -> None:
        """Open the training bar (the iterations still to run)."""
        self._open(runner, runner.train_loop.max_iters - runner.iter, 'train')

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        """Advance the training bar, showing the total loss."""
        if isinstance(outputs, dict) and 'loss' in outputs:
            self._step(loss=f'{float(outputs["loss"].detach()):.3f}')
        else:
            self._step()

    def before_val_epoch(self, runner) -> None:
        """Open a bar over this validation pass (under the training bar)."""
        if self.stages['val'] and self._bar is not None:
            self._train_bar, self._bar = self._bar, None
        self._open(runner, len(runner.val_dataloader), 'val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs=None) -> None:
        """Advance the validation bar."""
        if self.stages['val']:
            self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Close the validation bar; the training bar goes on."""
        if self.stages['val']:
            self._close()
            self._bar = getattr(self, '_train_bar', None)
            self._train_bar = None

    def before_test_epoch(self, runner) -> None:
        """Open the test bar."""
        self._open(runner, len(runner.test_dataloader), 'test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs=None) -> None:
        """Advance the test bar."""
        self._step()

    after_train = _close
    after_test_epoch = _close
