"""Paint test results on the original image, not on the network input."""
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.fileio import join_path
from mmpretrain.engine.hooks import VisualizationHook

from granzsl_mm.registry import HOOKS

__all__ = ['OriginalImageVisualizationHook']


@HOOKS.register_module()
class OriginalImageVisualizationHook(VisualizationHook):
    """MMPretrain's ``VisualizationHook`` drawing on the file each sample
    came from.

    The stock hook paints ``data_batch['inputs']``: the resized, cropped
    network input (48x48 on the demo: unreadable). This one reads
    ``img_path`` again (through :func:`granzsl_mm.utils.image_io.read_image`,
    with its pixel limit) and paints ground truth and predictions on it,
    resized so that its shorter side is ``short_side`` pixels. A sample
    without ``img_path`` falls back to the network input, also resized.
    ``tools/test.py --show-dir / --show`` use it in place of
    ``VisualizationHook``.

    Args:
        enable (bool): Paint at all.
        interval (int): Paint every ``interval``-th sample.
        show (bool): Show each picture in a window.
        out_dir (str, optional): Write the pictures here.
        short_side (int): Shorter side of the painted picture, in pixels.
        **kwargs: Passed to ``visualize_cls`` (``draw_gt``, ``wait_time``...).
    """

    def __init__(self, enable: bool = False, interval: int = 5000,
                 show: bool = False, out_dir: Optional[str] = None,
                 short_side: int = 384, **kwargs) -> None:
        # MMPretrain's __init__ less its visualizer look-up: the visualizer
        # is fetched when drawing, so the hook also builds outside a Runner.
        self.enable = enable
        self.interval = interval
        self.show = show
        self.out_dir = out_dir
        self.draw_args = {**kwargs, 'show': show}
        self.short_side = short_side
        self._offset = 0  # index of the batch's first sample in the loop

    @property
    def _visualizer(self):
        """The current visualizer (the Runner's)."""
        from mmengine.visualization import Visualizer
        return Visualizer.get_current_instance()

    @staticmethod
    def _original(data_sample, fallback) -> np.ndarray:
        """The sample's original RGB image, or the network input."""
        path = data_sample.get('img_path') if hasattr(
            data_sample, 'get') else None
        if path and osp.isfile(path):
            from granzsl_mm.utils.image_io import read_image
            return np.ascontiguousarray(read_image(path)[..., ::-1])
        image = fallback.permute(1, 2, 0).cpu().numpy()
        return np.clip(image, 0, 255).astype(np.uint8)

    def _draw_samples(self, batch_idx: int, data_batch: dict,
                      data_samples: Sequence, step: int = 0) -> None:
        """Paint every ``interval``-th sample of a batch (see the class)."""
        if self.enable is False:
            return
        batch_size = len(data_samples)
        inputs = data_batch['inputs']
        # Counted, not batch_idx * len(batch): a short last batch would
        # shift the stock hook's indices and skip its samples.
        if batch_idx == 0:
            self._offset = 0
        start = self._offset
        self._offset += batch_size
        first = math.ceil(start / self.interval) * self.interval
        for sample_id in range(first, start + batch_size, self.interval):
            data_sample = data_samples[sample_id - start]
            image = self._original(data_sample, inputs[sample_id - start])
            if 'img_path' in data_sample:
                name = osp.basename(data_sample.get('img_path'))
            else:
                name = str(sample_id)
            draw_args = dict(self.draw_args)
            draw_args.setdefault('resize', self.short_side)
            if self.out_dir is not None:
                draw_args['out_file'] = join_path(self.out_dir,
                                                  f'{name}_{step}.png')
            self._visualizer.visualize_cls(image=image,
                                           data_sample=data_sample,
                                           step=step, name=name, **draw_args)
