"""Datasets: readers of the official and released formats (``zsl``),
single-positive learning (``spml``), class descriptions (``descriptions``),
converters, label conventions and the text/caption datasets."""
from granzsl_mm.utils.label_matrix import binary_to_ours, ours_to_signed, signed_to_ours

from .caption_label_dataset import CaptionLabelDataset
from .descriptions import (
    DESCRIPTION_FORMAT,
    ClassDescriptionDataset,
    DescriptionError,
    check_classes,
    expand_descriptions,
    expand_entry,
    load_any_descriptions,
    load_descriptions,
    read_class_split,
    read_post_llm,
    save_descriptions,
)
from .image_caption_dataset import ImageCaptionDataset
from .image_checks import BadImageError, find_bad_images
from .image_loading import LoadImageFromFile
from .pack_text_inputs import PackTextInputs
from .patch_multiple_resize import ResizeToPatchMultiple
from .snippet_crops import CutSnippets
from .spml import (
    VOC_CLASSES,
    COCOMultiLabelDataset,
    PartialLabelDataset,
    SPMLDataset,
    VOCMultiLabelDataset,
    load_pseudo_labels,
    observe_single_positives,
    pseudo_label_key,
    read_voc_image_sets,
    save_pseudo_labels,
    train_val_split,
)
from .zsl import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    COCOZSLDataset,
    NUSWideZSLDataset,
    ZSLMultiLabelDataset,
    load_instances,
    read_zsl_classes,
    write_nuswide_metadata,
)

__all__ = [
    'ClassDescriptionDataset', 'read_class_split', 'expand_descriptions',
    'expand_entry', 'DESCRIPTION_FORMAT', 'DescriptionError', 'check_classes',
    'load_any_descriptions', 'load_descriptions', 'read_post_llm',
    'save_descriptions', 'PackTextInputs', 'COCO80_CLASSES', 'COCO_SEEN_48',
    'COCO_UNSEEN_17',
    'load_instances', 'COCOZSLDataset', 'BadImageError', 'find_bad_images',
    'binary_to_ours', 'ours_to_signed', 'signed_to_ours',
    'ZSLMultiLabelDataset', 'read_zsl_classes', 'write_nuswide_metadata',
    'NUSWideZSLDataset', 'COCOMultiLabelDataset', 'load_pseudo_labels',
    'pseudo_label_key', 'save_pseudo_labels', 'SPMLDataset',
    'observe_single_positives', 'train_val_split', 'VOC_CLASSES',
    'VOCMultiLabelDataset', 'read_voc_image_sets', 'ImageCaptionDataset',
    'CaptionLabelDataset',
    'ResizeToPatchMultiple',
    'LoadImageFromFile', 'CutSnippets', 'PartialLabelDataset'
]
