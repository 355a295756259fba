"""``ResizeToPatchMultiple``: each image at its own size, rounded up to a
multiple of the patch size (TagCLIP's test input).

TagCLIP (``linyq2117/TagCLIP``, ``classify.py``) resizes every test image to
``ceil(H / 16) * 16 x ceil(W / 16) * 16`` with torchvision's ``Resize`` on
the PIL image (PIL bicubic) and lets the positional embedding follow the
patch grid. Images then differ in size: test with ``batch_size=1``.
"""
import math

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from granzsl_mm.registry import TRANSFORMS

__all__ = ['ResizeToPatchMultiple']

_FILTERS = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}


@TRANSFORMS.register_module()
class ResizeToPatchMultiple(BaseTransform):
    """Resize ``results['img']`` up to the next multiples of ``patch_size``.

    Args:
        patch_size (int): The tower's patch size.
        interpolation (str): ``'bicubic'`` (the reference's) or
            ``'bilinear'``; PIL's filters, channels resized independently.
    """

    def __init__(self, patch_size: int = 16,
                 interpolation: str = 'bicubic') -> None:
        if int(patch_size) < 1:
            raise ValueError(f'patch_size must be >= 1, got {patch_size}')
        if interpolation not in _FILTERS:
            raise ValueError(f'interpolation must be one of {list(_FILTERS)}'
                             f', got {interpolation!r}')
        self.patch_size = int(patch_size)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        """Resize the image; ``img_shape`` follows."""
        img = results['img']
        height, width = img.shape[:2]
        size = (math.ceil(width / self.patch_size) * self.patch_size,
                math.ceil(height / self.patch_size) * self.patch_size)
        if size != (width, height):
            filt = _FILTERS[self.interpolation]
            if img.ndim == 2:
                img = np.asarray(Image.fromarray(img).resize(size, filt))
            else:
                img = np.stack([
                    np.asarray(Image.fromarray(np.ascontiguousarray(
                        img[..., c])).resize(size, filt))
                    for c in range(img.shape[2])], axis=-1)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(patch_size={self.patch_size}, '
                f'interpolation={self.interpolation!r})')
