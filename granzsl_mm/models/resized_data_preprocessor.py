"""A data preprocessor that resizes the normalised batch (VLPL's CLIP input).

VLPL (Xing et al. 2024, ``mvrl/VLPL``) loads each image as a 448 x 448
tensor normalised with ImageNet's mean / std (its ResNet-50 input) and
hands CLIP ``transforms.Resize((336, 336))`` of that normalised tensor:
bilinear, antialiased (torchvision >= 0.17; VLPL pins 0.28). This is
MMPretrain's ``ClsDataPreprocessor`` followed by that resize, so the
pseudo-labeller can see exactly VLPL's input; see ``docs/spml.md``.
"""
from typing import Sequence

import torch.nn.functional as F
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from granzsl_mm.registry import MODELS

__all__ = ['ResizedClsDataPreprocessor']


@MODELS.register_module()
class ResizedClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor``, then an interpolation of the batch.

    Args:
        size (Sequence[int]): Output ``(height, width)``.
        mode (str): ``torch.nn.functional.interpolate`` mode (``'bilinear'``,
            as torchvision's tensor ``Resize``).
        antialias (bool): Antialiased down-sampling (torchvision's default
            for tensors since 0.17).
        **kwargs: ``ClsDataPreprocessor`` arguments (``mean``, ``std``,
            ``to_rgb``, ...).
    """

    def __init__(self, size: Sequence[int], mode: str = 'bilinear',
                 antialias: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        if len(size) != 2:
            raise ValueError(f'size must be (height, width), got {size}')
        self.size = (int(size[0]), int(size[1]))
        self.mode = mode
        self.antialias = antialias

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise (``ClsDataPreprocessor``), then resize to ``size``."""
        data = super().forward(data, training)
        inputs = data['inputs']
        if tuple(inputs.shape[-2:]) != self.size:
            align = False if self.mode in ('bilinear', 'bicubic') else None
            data['inputs'] = F.interpolate(
                inputs, size=self.size, mode=self.mode, align_corners=align,
                antialias=self.antialias)
        return data
