"""Data-only modules that every wing may import: prompt templates, class
lists, the class-name reader, normalisation constants and the default
snippet grids (standard library only; nothing of mmengine, torch or the
other wings)."""
from .class_lists import (
    CLASS_LISTS,
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    NUSWIDE81_CLASSES,
    VOC_CLASS_WORDS,
    VOC_CLASSES,
)
from .class_names import NAMED_SUBSETS, ClassSplit, read_class_names
from .constants import (
    CLIP_MEAN,
    CLIP_STD,
    DEFAULT_SNIPPET_GRIDS,
    IMAGENET_MEAN,
    IMAGENET_STD,
)
from .prompts import (
    CLIP_TEMPLATE,
    MKT_TEMPLATE,
    OPENAI_IMAGENET_TEMPLATES,
    SINGLE_TEMPLATE,
    TEMPLATE_SETS,
    fill_templates,
    get_templates,
    resolve_templates,
)

__all__ = [
    'CLASS_LISTS', 'COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17',
    'NUSWIDE81_CLASSES', 'VOC_CLASSES', 'VOC_CLASS_WORDS', 'NAMED_SUBSETS',
    'ClassSplit', 'read_class_names',
    'CLIP_MEAN', 'CLIP_STD', 'IMAGENET_MEAN', 'IMAGENET_STD',
    'DEFAULT_SNIPPET_GRIDS', 'CLIP_TEMPLATE', 'MKT_TEMPLATE',
    'OPENAI_IMAGENET_TEMPLATES', 'SINGLE_TEMPLATE', 'TEMPLATE_SETS',
    'fill_templates', 'get_templates', 'resolve_templates'
]
