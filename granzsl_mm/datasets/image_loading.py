"""``LoadImageFromFile`` of the granzsl_mm scope: the project's image reader.

Registered under mmcv's name in our ``TRANSFORMS`` registry, so every config
of this project (``default_scope = 'granzsl_mm'``) that writes
``dict(type='LoadImageFromFile')`` reads images through
:func:`granzsl_mm.utils.image_io.read_image_bytes`: one pixel limit, 16-bit
PNGs scaled by their real bit depth, errors that name the file. The
arguments are mmcv's; ``color_type`` other than ``'color'``, a decode backend
other than cv2, or ``to_float32`` fall back to mmcv's own decoding after the
pixel-limit check.
"""
from typing import Optional

import numpy as np
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile
from mmengine import fileio

from granzsl_mm.registry import TRANSFORMS
from granzsl_mm.utils.image_io import check_image_size, read_image_bytes

__all__ = ['LoadImageFromFile']


@TRANSFORMS.register_module(name='LoadImageFromFile')
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` through the project's image reader."""

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']`` (BGR)."""
        filename = results['img_path']
        try:
            data = fileio.get(filename, backend_args=self.backend_args)
            if self.color_type == 'color' and self.imdecode_backend == 'cv2':
                img = read_image_bytes(data, str(filename))
            else:
                import mmcv
                check_image_size(data, str(filename))
                img = mmcv.imfrombytes(data, flag=self.color_type,
                                       backend=self.imdecode_backend)
                if img is None:
                    raise ValueError(f'{filename}: cannot decode the image')
        except Exception:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
