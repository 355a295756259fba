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
    """MMPretrain's ``VisualizationHook`` drawing the multi-label picture on
    the file each sample came from.

    The stock hook paints ``data_batch['inputs']`` (the resized network
    input: 48x48 on the demo, unreadable) with MMPretrain's single-label
    text box, which shows no prediction of a multi-label model and covers
    the image. This one reads ``img_path`` again (through
    :func:`granzsl_mm.utils.image_io.read_image`, with its pixel limit),
    resizes it so that its shorter side is ``short_side`` pixels, and draws
    beside it the top-k predictions with their scores and the ground truth,
    seen and unseen classes told apart
    (:func:`granzsl_mm.apis.label_drawing.sample_sections`): the same
    picture as ``tools/infer.py --show-dir``. A sample without ``img_path``
    falls back to the network input. ``tools/test.py --show-dir / --show``
    use it in place of ``VisualizationHook``, for every model family.

    Args:
        enable (bool): Paint at all.
        interval (int): Paint every ``interval``-th sample.
        show (bool): Show each picture in a window.
        out_dir (str, optional): Write the pictures here.
        short_side (int): Shorter side of the painted image, in pixels.
        topk (int): Predictions listed per image.
        wait_time (float): Seconds a ``show`` window stays open.
        **kwargs: Accepted for MMPretrain's hook options (``draw_gt``...),
            which this drawing does not use.
    """

    def __init__(self, enable: bool = False, interval: int = 5000,
                 show: bool = False, out_dir: Optional[str] = None,
                 short_side: int = 384, topk: int = 5,
                 wait_time: float = 0., **kwargs) -> None:
        # MMPretrain's __init__ less its visualizer look-up: the visualizer
        # is fetched when drawing, so the hook also builds outside a Runner.
        self.enable = enable
        self.interval = interval
        self.show = show
        self.out_dir = out_dir
        self.wait_time = wait_time
        self.topk = topk
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
            self._paint(image, data_sample, name, step)

    def _paint(self, image: np.ndarray, data_sample, name: str,
               step: int) -> None:
        """Draw one sample; write, show or hand it to the vis backends."""
        from granzsl_mm.apis.label_drawing import (
            draw_label_panel,
            sample_sections,
            save_picture,
        )
        visualizer = self._visualizer
        picture = draw_label_panel(
            image, sample_sections(data_sample, visualizer.dataset_meta,
                                   self.topk),
            title=name, short_side=self.short_side)
        if self.show:
            visualizer.show(picture, win_name=name, wait_time=self.wait_time)
        if self.out_dir is not None:
            save_picture(picture, join_path(self.out_dir,
                                            f'{name}_{step}.png'))
        else:
            visualizer.add_image(name, picture, step=step)
