"""Single-positive multi-label (SPML): readers, the protocol wrapper and
pseudo-label files; the partial-label wrapper (labels hidden at random)."""
from .apl_label_store import (
    APLLabelStore,
    apl_counts,
    asymmetric_pseudo_label_step,
)
from .coco_multilabel import COCOMultiLabelDataset
from .cub_attributes import CUBAttributeDataset
from .nuswide_multilabel import NUSWideMultiLabelDataset
from .partial_labels import (
    PartialLabelDataset,
    hide_labels,
    known_label_mask,
    read_reference_mask,
)
from .protocol import (
    SPML_SPLITS,
    VAL_LABEL_OPTIONS,
    SPMLDataset,
    observe_single_positives,
    train_val_split,
)
from .pseudo_label_file import (
    load_pseudo_labels,
    pseudo_label_key,
    save_pseudo_labels,
)
from .voc import VOC_CLASSES, VOCMultiLabelDataset, read_voc_image_sets

__all__ = [
    'APLLabelStore', 'apl_counts', 'asymmetric_pseudo_label_step',
    'COCOMultiLabelDataset', 'SPML_SPLITS', 'VAL_LABEL_OPTIONS',
    'SPMLDataset', 'observe_single_positives', 'train_val_split',
    'load_pseudo_labels', 'pseudo_label_key', 'save_pseudo_labels',
    'VOC_CLASSES', 'VOCMultiLabelDataset', 'read_voc_image_sets',
    'CUBAttributeDataset', 'NUSWideMultiLabelDataset',
    'PartialLabelDataset', 'hide_labels', 'known_label_mask',
    'read_reference_mask'
]
