"""Data-only modules that every wing may import: prompt templates, class
lists, the class-name reader and normalisation constants (standard library
only; nothing of mmengine, torch or the other wings)."""
from .class_lists import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    VOC_CLASS_WORDS,
    VOC_CLASSES,
)
from .class_names import NAMED_SUBSETS, ClassSplit, read_class_names
from .constants import CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD
from .prompts import (
    OPENAI_IMAGENET_TEMPLATES,
    SINGLE_TEMPLATE,
    TEMPLATE_SETS,
    fill_templates,
    get_templates,
    resolve_templates,
)

__all__ = [
    'COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17', 'VOC_CLASSES',
    'VOC_CLASS_WORDS', 'NAMED_SUBSETS', 'ClassSplit', 'read_class_names',
    'CLIP_MEAN', 'CLIP_STD', 'IMAGENET_MEAN', 'IMAGENET_STD',
    'OPENAI_IMAGENET_TEMPLATES', 'SINGLE_TEMPLATE', 'TEMPLATE_SETS',
    'fill_templates', 'get_templates', 'resolve_templates'
]
