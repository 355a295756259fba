"""MS-COCO 2014 multi-label reader (80 classes, no seen/unseen split).

A :class:`COCOZSLDataset` over one label set of all classes (by default the
80 COCO categories in id order, as in the instances json), with the image
order of the single-positive reference's formatted label matrices (Cole et
al. 2021): image ids sorted *as strings*. The seeded single-positive choice
of :class:`~granzsl_mm.datasets.SPMLDataset` follows the image order, so this
order reproduces the reference's observed labels. Images without
annotations are dropped by default, as there.
"""
import os.path as osp
from typing import List, Optional, Sequence

from granzsl_mm.registry import DATASETS

from ..zsl.coco_instances import (
    COCO80_CLASSES,
    check_split_names,
    image_category_ids,
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
        class_names (Sequence[str], optional): The classes, in label order;
            default the 80 COCO 2014 categories in id order. Each must be a
            category of the json.
        empty_images (str): ``'drop'`` (default, SPML reference) or
            ``'keep'`` images without annotations.
        **kwargs: ``COCOZSLDataset`` / ``BaseDataset`` arguments
            (``data_root``, ``data_prefix``, ``check_images``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 class_names: Optional[Sequence[str]] = None,
                 empty_images: str = 'drop',
                 **kwargs) -> None:
        names = list(class_names or COCO80_CLASSES)
        super().__init__(ann_file=ann_file,
                         classes=dict(seen=names, unseen=[]),
                         label_set='all', empty_images=empty_images, **kwargs)

    def load_raw_items(self) -> List[dict]:
        """Images in string-sorted id order with their positive classes."""
        coco = load_instances(self.ann_file)
        cat_ids = check_split_names(self.all_seen_classes, coco,
                                    'class_names')
        label_of = {cat: i for i, cat in enumerate(cat_ids)}
        cats_per_image = image_category_ids(coco)
        img_dir = self.data_prefix.get('img_path', '') or ''
        items = []
        for img in sorted(coco.dataset['images'], key=lambda im: str(im['id'])):
            labels = sorted(label_of[c] for c in cats_per_image[img['id']]
                            if c in label_of)
            items.append(dict(img_path=osp.join(img_dir, img['file_name']),
                              positives=labels, unknowns=[],
                              img_id=img['id']))
        return items
