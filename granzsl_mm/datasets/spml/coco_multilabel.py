"""MS-COCO 2014 multi-label reader (80 classes, no seen/unseen split).

A :class:`COCOZSLDataset` over one label set of all classes (by default the
80 COCO categories in id order, as in the instances json), with the image
order of the single-positive reference's formatted label matrices (Cole et
al. 2021): image ids sorted *as strings*. The seeded single-positive choice
of :class:`~granzsl_mm.datasets.SPMLDataset` follows the image order, so this
order reproduces the reference's observed labels. Images without
annotations are dropped by default, as there.
"""
from typing import List, Optional

from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.class_names import ClassSource, read_class_names

from ..zsl.coco_instances import (
    COCO80_CLASSES,
    check_split_names,
    instance_items,
    load_instances,
)
from ..zsl.coco_zsl import COCOZSLDataset

__all__ = ['COCOMultiLabelDataset']


@DATASETS.register_module()
class COCOMultiLabelDataset(COCOZSLDataset):
    """MS-COCO multi-label dataset (all classes seen, no unknowns).

    Args:
        ann_file (str): Instances json, e.g.
            ``annotations/instances_train2014.json`` (relative to
            ``data_root``).
        class_names (str | Sequence[str], optional): The classes, in label
            order (any source of
            :func:`~granzsl_mm.structures.read_class_names`, e.g. a key);
            default the 80 COCO 2014 categories in id order. Each must be a
            category of the json.
        empty_images (str): ``'drop'`` (default, SPML reference) or
            ``'keep'`` images without annotations.
        **kwargs: ``COCOZSLDataset`` / ``BaseDataset`` arguments
            (``data_root``, ``data_prefix``, ``check_images``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 class_names: Optional[ClassSource] = None,
                 empty_images: str = 'drop',
                 **kwargs) -> None:
        names = read_class_names(class_names or COCO80_CLASSES).names
        super().__init__(ann_file=ann_file,
                         classes=dict(seen=names, unseen=[]),
                         label_set='all', empty_images=empty_images, **kwargs)

    def load_raw_items(self) -> List[dict]:
        """Images in string-sorted id order with their positive classes."""
        coco = load_instances(self.ann_file)
        cat_ids = check_split_names(self.all_seen_classes, coco,
                                    'class_names')
        images = sorted(coco.dataset['images'], key=lambda im: str(im['id']))
        return instance_items(coco, cat_ids, self.image_folder, images)
