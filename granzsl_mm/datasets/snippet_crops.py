"""``CutSnippets``: the snippets cut from the original image in the pipeline,
exactly as GranZSL's reference (RCNn) cuts them.

RCNn's ``CutImageplus`` (``datasets/coco.py`` and ``datasets/nuswide.py`` of
wangshouwen/RCNn@f257645) resizes the original PIL image to ``S x S`` with
PIL's default filter (bicubic), crops the ``n x n`` grids of square boxes
(side ``S // n``, row-major, grids in order) and passes every crop through
its test transform, torchvision ``Resize((S, S))``: PIL bilinear on uint8.
Its full view is a second image, the bilinear ``Resize`` of the original.

Our default (``SnippetTTAModel`` / ``GranZSLSnippetVal`` with
``snippet_source='batch'``) cuts the snippets from the one bilinear test
tensor on the device instead; this transform, with ``snippet_source=
'pipeline'``, gives the reference's snippets when its numbers must be
reproduced (``configs/granzsl_coco_select_on_test.py``; see
``docs/reference_differences.md``).
"""
from typing import Dict, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from granzsl_mm.registry import TRANSFORMS
from granzsl_mm.structures.constants import DEFAULT_SNIPPET_GRIDS

__all__ = ['CutSnippets']


@TRANSFORMS.register_module()
class CutSnippets(BaseTransform):
    """Cut the snippet grids from ``results['img']`` as RCNn does.

    Put it right after ``LoadImageFromFile`` (it needs the original image)
    and pack ``key`` with ``PackInputs(algorithm_keys=[key])``. Channels are
    resized independently, so BGR images stay BGR.

    Args:
        grids (Sequence[int]): Grid sizes, in order (as the model's).
        size (int): Side ``S`` of the square base image and of every
            snippet (the model's input size).
        key (str): Result key of the ``[K, S, S, C]`` uint8 snippets.
    """

    def __init__(self, grids: Sequence[int] = DEFAULT_SNIPPET_GRIDS,
                 size: int = 224, key: str = 'snippets') -> None:
        self.grids = tuple(int(n) for n in grids)
        self.size = int(size)
        if not self.grids or any(n < 1 or self.size // n < 1
                                 for n in self.grids):
            raise ValueError(f'grids must be sizes >= 1 that fit in {size} '
                             f'px, got {grids}')
        self.key = key

    def boxes(self) -> list:
        """``(left, top, right, bottom)`` boxes, as ``snippet_boxes``."""
        out = []
        for n in self.grids:
            w = self.size // n
            out += [(j * w, i * w, (j + 1) * w, (i + 1) * w)
                    for i in range(n) for j in range(n)]
        return out

    def transform(self, results: Dict) -> Dict:
        """Add ``results[key]``: ``[K, S, S, C]`` uint8 snippets.

        Args:
            results (dict): With ``img``, the original uint8 image.

        Returns:
            dict: ``results`` with the snippets added.
        """
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'CutSnippets needs the uint8 image, got '
                            f'{img.dtype} (put it before any float step)')
        # PIL's default filter of Image.resize (Pillow >= 7), named so that
        # no Pillow default can change it
        base = Image.fromarray(img).resize((self.size, self.size),
                                           Image.BICUBIC)
        crops = [np.asarray(base.crop(b).resize((self.size, self.size),
                                                Image.BILINEAR))
                 for b in self.boxes()]
        snippets = np.stack(crops)
        if snippets.ndim == 3:  # a grey image: one channel
            snippets = snippets[..., None]
        results[self.key] = snippets
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(grids={self.grids}, '
                f'size={self.size}, key={self.key!r})')
