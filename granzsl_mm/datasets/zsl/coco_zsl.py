"""MS-COCO zero-shot multi-label dataset (48 seen / 17 unseen classes)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from granzsl_mm.registry import DATASETS

from ..descriptions.dataset import read_class_split
from .coco_instances import (
    COCO80_CLASSES,
    check_split_names,
    instance_items,
    load_instances,
)
from .zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['COCOZSLDataset']


@DATASETS.register_module()
class COCOZSLDataset(ZSLMultiLabelDataset):
    """Zero-shot multi-label MS-COCO from an instances-format json.

    Reads the official ``instances_{train,val}2014.json``, the papers'
    released ``instances_val2014_gzsi_48_17.json`` /
    ``instances_val2014_unseen_48_17.json`` as they are, or the files of
    ``tools/dataset_converters/coco_zsl.py``. An image's labels are the
    categories of its annotations (crowd ones included), restricted to the
    label set; COCO labels are exhaustive, so there are no unknowns.

    Example (the papers' GZSL test set)::

        dict(type='COCOZSLDataset', data_root='data/coco',
             ann_file='annotations/instances_val2014_gzsi_48_17.json',
             data_prefix=dict(img_path='val2014'),
             split_file='cls_ids.pickle', label_set='all',
             pipeline=[...])

    Args:
        ann_file (str): Instances json (relative to ``data_root``).
        split_file (str, optional): The class split: the papers'
            ``cls_ids.pickle`` (``{'train': seen, 'test': unseen}`` 0-based
            indices into the 80 COCO categories sorted by id) or our json
            ``{"seen": [...], "unseen": [...]}`` (see
            :func:`read_class_split`). Relative to ``data_root`` unless
            absolute.
        classes (dict, optional): ``{'seen': [...], 'unseen': [...]}`` instead
            of ``split_file``.
        index_classes (str | Sequence[str], optional): Class names by index
            for a pickle split (a list or a categories/instances json);
            defaults to the 80 COCO 2014 categories.
        label_set (str): ``'seen'``, ``'unseen'`` or ``'all'``.
        empty_images (str): ``'keep'`` or ``'drop'`` images without a
            positive in the label set.
        check_images (str): ``'exists'``, ``'verify'`` or ``'none'``.
        bad_images (str): ``'error'`` or ``'skip'`` (count and drop).
        **kwargs: ``BaseDataset`` arguments (``data_root``,
            ``data_prefix=dict(img_path=...)``, ``pipeline``, ``indices``...).
    """

    def __init__(self,
                 ann_file: str,
                 split_file: Optional[str] = None,
                 classes: Optional[Dict[str, Sequence[str]]] = None,
                 index_classes: Union[None, str, Sequence[str]] = None,
                 label_set: str = 'all',
                 empty_images: str = 'keep',
                 check_images: str = 'exists',
                 bad_images: str = 'error',
                 **kwargs) -> None:
        data_root = kwargs.get('data_root') or ''
        if split_file is not None and not osp.isabs(split_file):
            split_file = osp.join(data_root, split_file)
        if isinstance(index_classes, str) and not osp.isabs(index_classes):
            index_classes = osp.join(data_root, index_classes)
        self.split_file = split_file
        seen, unseen = self._resolve_split(split_file, classes, index_classes)
        super().__init__(
            seen_classes=seen, unseen_classes=unseen, label_set=label_set,
            empty_images=empty_images, check_images=check_images,
            bad_images=bad_images, ann_file=ann_file, **kwargs)

    @staticmethod
    def _resolve_split(split_file, classes,
                       index_classes) -> Tuple[List[str], List[str]]:
        if (split_file is None) == (classes is None):
            raise ValueError('pass exactly one of split_file and classes '
                             '(dict seen=[...], unseen=[...])')
        if classes is not None:
            if not isinstance(classes, dict) or 'seen' not in classes:
                raise ValueError('classes must be a dict with "seen" (and '
                                 '"unseen") lists')
            return list(classes['seen']), list(classes.get('unseen', []))
        return read_class_split(split_file, index_classes or COCO80_CLASSES)

    def load_raw_items(self) -> List[dict]:
        """Read the instances json (see :func:`load_instances` checks)."""
        coco = load_instances(self.ann_file)
        names = self.all_seen_classes + self.all_unseen_classes
        source = self.split_file or 'classes argument'
        cat_ids = check_split_names(names, coco, source)
        return instance_items(coco, cat_ids, self.image_folder)
