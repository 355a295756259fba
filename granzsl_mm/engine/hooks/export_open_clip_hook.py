"""Write the trained model's open_clip weights as a plain checkpoint."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from granzsl_mm.registry import HOOKS

__all__ = ['ExportOpenCLIPHook']


@HOOKS.register_module()
class ExportOpenCLIPHook(Hook):
    """After training, save the model's open_clip state dict to ``out_file``.

    The model must offer ``save_open_clip(path)`` (``ContrastiveCLIP`` does).

    Args:
        out_file (str, optional): Output path; defaults to
            ``<work_dir>/open_clip.pt``.
    """

    priority = 'VERY_LOW'

    def __init__(self, out_file: Optional[str] = None) -> None:
        self.out_file = out_file

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, 'save_open_clip'):
            raise TypeError(f'{type(model).__name__} has no save_open_clip(); '
                            'ExportOpenCLIPHook needs e.g. ContrastiveCLIP')
        path = self.out_file or f'{runner.work_dir}/open_clip.pt'
        if runner.rank == 0:
            model.save_open_clip(path)
            runner.logger.info(f'open_clip checkpoint written to {path}')
