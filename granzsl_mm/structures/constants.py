"""Constants (data): image normalisation, on the 0-255 pixel scale that
MMPretrain's data preprocessors use, and the default snippet grids.

``CLIP_MEAN`` / ``CLIP_STD`` are OpenAI CLIP's published statistics (0-1
scale, :data:`CLIP_MEAN_UNIT` / :data:`CLIP_STD_UNIT`) times 255;
``IMAGENET_MEAN`` / ``IMAGENET_STD`` are torchvision's / timm's ImageNet
statistics (the SPML ResNet-50 and the MKT / SigRL reference recipes);
``SIGLIP_MEAN`` / ``SIGLIP_STD`` are open_clip's metadata of
``ViT-B-16-SigLIP`` / ``'webli'`` (0.5 and 0.5) times 255.
Configs write them as literals, as MMPretrain's do (``mean=[122.770938,
...]``); ``tests/structures`` checks every config's values against these.
"""
from typing import Tuple

__all__ = ['CLIP_MEAN_UNIT', 'CLIP_STD_UNIT', 'CLIP_MEAN', 'CLIP_STD',
           'IMAGENET_MEAN', 'IMAGENET_STD', 'SIGLIP_MEAN', 'SIGLIP_STD',
           'DEFAULT_SNIPPET_GRIDS']

CLIP_MEAN_UNIT: Tuple[float, float, float] = (0.48145466, 0.4578275,
                                              0.40821073)
CLIP_STD_UNIT: Tuple[float, float, float] = (0.26862954, 0.26130258,
                                             0.27577711)
CLIP_MEAN: Tuple[float, ...] = tuple(v * 255 for v in CLIP_MEAN_UNIT)
CLIP_STD: Tuple[float, ...] = tuple(v * 255 for v in CLIP_STD_UNIT)

IMAGENET_MEAN: Tuple[float, float, float] = (123.675, 116.28, 103.53)
IMAGENET_STD: Tuple[float, float, float] = (58.395, 57.12, 57.375)

SIGLIP_MEAN: Tuple[float, float, float] = (127.5, 127.5, 127.5)
SIGLIP_STD: Tuple[float, float, float] = (127.5, 127.5, 127.5)

# Snippet test-time aggregation: the full image plus 2 x 2 and 3 x 3 grids
# of snippets, GranZSL's setting on COCO (NUS-WIDE uses (2,)); the default
# of the TTA model, the classifiers' snippet scores and the inferencer.
DEFAULT_SNIPPET_GRIDS: Tuple[int, ...] = (2, 3)
