"""Image inputs of the inferencer: paths, folders, globs, arrays, PIL images.

:func:`list_images` expands what a user passes into a list of items;
:func:`load_image` turns one item into the input dict of a test pipeline
(BGR ``img``, as mmcv reads images).
"""
import glob
import os.path as osp
from typing import Any, Sequence, Union

import numpy as np

__all__ = ['IMAGE_EXTENSIONS', 'ImageInput', 'list_images', 'load_image']

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff',
                    '.gif')
ImageInput = Union[str, np.ndarray, Any]


def list_images(images: Union[ImageInput, Sequence[ImageInput]]) -> list:
    """Expand files, folders (sorted) and glob patterns; keep arrays / PIL.

    Raises:
        FileNotFoundError: A path that matches nothing.
    """
    if isinstance(images, (str, np.ndarray)) or not isinstance(
            images, (list, tuple)):
        images = [images]
    out = []
    for item in images:
        if not isinstance(item, str):
            out.append(item)
        elif osp.isdir(item):
            found = sorted(p for p in glob.glob(osp.join(item, '*'))
                           if p.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise FileNotFoundError(f'no images in folder {item}')
            out += found
        elif osp.isfile(item):
            out.append(item)
        elif glob.has_magic(item) and glob.glob(item):
            out += sorted(glob.glob(item))
        else:
            raise FileNotFoundError(f'image not found: {item}')
    return out


def load_image(item: ImageInput) -> dict:
    """A pipeline input dict (BGR ``img``) from a path, array or PIL image."""
    path = item if isinstance(item, str) else None
    if path is not None:
        # the project's one reader: the pixel limit, real bit depth, and
        # an ImageReadError naming the path (an empty file included)
        from granzsl_mm.utils.image_io import read_image
        img = read_image(path)
    elif isinstance(item, np.ndarray):
        img = item  # mmcv convention: HWC, BGR
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
    elif hasattr(item, 'convert'):  # PIL image (RGB)
        img = np.ascontiguousarray(np.asarray(item.convert('RGB'))[..., ::-1])
    else:
        raise TypeError(f'unsupported image input {type(item).__name__}')
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                img_path=path)
