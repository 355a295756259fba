"""Zero-shot multi-label image datasets: COCO 48/17 and NUS-WIDE 925/81."""
from .coco_instances import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
    load_instances,
)
from .coco_zsl import COCOZSLDataset
from .nuswide_metadata import read_zsl_classes
from .nuswide_writer import write_nuswide_metadata
from .nuswide_zsl import NUSWideZSLDataset
from .openimages_zsl import OpenImagesZSLDataset
from .zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = [
    'COCO80_CLASSES', 'COCO_SEEN_48', 'COCO_UNSEEN_17', 'load_instances',
    'COCOZSLDataset', 'read_zsl_classes', 'write_nuswide_metadata',
    'NUSWideZSLDataset', 'ZSLMultiLabelDataset', 'OpenImagesZSLDataset'
]
