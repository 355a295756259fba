"""datasets of granzsl_mm."""

__all__: list = []

# Class descriptions (GranZSL text-only training).
from .class_description_dataset import (  # noqa: E402
    ClassDescriptionDataset,
    read_class_split,
)
from .description_expansion import expand_descriptions, expand_entry  # noqa: E402
from .descriptions import (  # noqa: E402
    DESCRIPTION_FORMAT,
    DescriptionError,
    check_classes,
    load_any_descriptions,
    load_descriptions,
    read_post_llm,
    save_descriptions,
)
from .pack_text_inputs import PackTextInputs  # noqa: E402
from .templates import OPENAI_IMAGENET_TEMPLATES, TEMPLATE_SETS  # noqa: E402

__all__ += [
    'ClassDescriptionDataset', 'read_class_split', 'expand_descriptions',
    'expand_entry', 'DESCRIPTION_FORMAT', 'DescriptionError', 'check_classes',
    'load_any_descriptions', 'load_descriptions', 'read_post_llm',
    'save_descriptions', 'PackTextInputs', 'OPENAI_IMAGENET_TEMPLATES',
    'TEMPLATE_SETS'
]

# Zero-shot multi-label image datasets (COCO 48/17, NUS-WIDE 925/81).
from .coco_instances import (  # noqa: E402
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    load_instances,
)
from .coco_zsl import COCOZSLDataset  # noqa: E402
from .image_checks import BadImageError, find_bad_images  # noqa: E402
from .label_conventions import (  # noqa: E402
    binary_to_ours,
    ours_to_signed,
    signed_to_ours,
)
from .nuswide_metadata import read_zsl_classes  # noqa: E402
from .nuswide_writer import write_nuswide_metadata  # noqa: E402
from .nuswide_zsl import NUSWideZSLDataset  # noqa: E402
from .zsl_multilabel_dataset import ZSLMultiLabelDataset  # noqa: E402

__all__ += [
    'COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17', 'load_instances',
    'COCOZSLDataset', 'BadImageError', 'find_bad_images', 'binary_to_ours',
    'ours_to_signed', 'signed_to_ours', 'ZSLMultiLabelDataset',
    'read_zsl_classes', 'write_nuswide_metadata', 'NUSWideZSLDataset'
]

# Single-positive multi-label (SPML): readers, protocol wrapper, pseudo-labels.
from .coco_multilabel import COCOMultiLabelDataset  # noqa: E402
from .pseudo_label_file import (  # noqa: E402
    load_pseudo_labels,
    pseudo_label_key,
    save_pseudo_labels,
)
from .spml import (  # noqa: E402
    SPMLDataset,
    observe_single_positives,
    train_val_split,
)
from .voc import VOC_CLASSES, VOCMultiLabelDataset, read_voc_image_sets  # noqa: E402

__all__ += [
    'COCOMultiLabelDataset', 'load_pseudo_labels', 'pseudo_label_key',
    'save_pseudo_labels', 'SPMLDataset', 'observe_single_positives',
    'train_val_split', 'VOC_CLASSES', 'VOCMultiLabelDataset',
    'read_voc_image_sets'
]

# Synthetic world (demo / proving ground) and image-caption pairs.
from .image_caption_dataset import ImageCaptionDataset  # noqa: E402
from .synthetic_world import DEFAULT_WORLD, WorldSpec, world_classes  # noqa: E402
from .synthetic_world_io import build_synthetic_world, load_world_meta  # noqa: E402

__all__ += ['ImageCaptionDataset', 'DEFAULT_WORLD', 'WorldSpec',
            'world_classes', 'build_synthetic_world', 'load_world_meta']
