"""Rebuild the zero-shot annotation files from the official downloads
(the logic behind ``tools/dataset_converters/*.py``)."""
from .coco_zsl import COCO_ZSL_OUTPUTS, coco_zsl_subsets, convert_coco_zsl
from .nuswide_zsl import NUSWIDE_ZSL_OUTPUTS, convert_nuswide_zsl
from .openimages_zsl import OPENIMAGES_ZSL_OUTPUTS, convert_openimages_zsl
from .summary import format_summary, label_summary

__all__ = [
    'COCO_ZSL_OUTPUTS', 'convert_coco_zsl', 'coco_zsl_subsets',
    'NUSWIDE_ZSL_OUTPUTS', 'convert_nuswide_zsl', 'OPENIMAGES_ZSL_OUTPUTS',
    'convert_openimages_zsl', 'format_summary', 'label_summary'
]
