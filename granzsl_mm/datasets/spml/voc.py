"""PASCAL VOC 2012 multi-label reader (official ``ImageSets/Main`` lists).

Reads the per-class image-set files of the VOC devkit,
``<data_root>/ImageSets/Main/<class>_<split>.txt``, one line per image::

    2008_000002 -1      # -1 absent, 1 present, 0 present but 'difficult'

for the 20 classes below, into our convention (1 / 0 / -1, see
:mod:`granzsl_mm.utils.label_matrix`). Images are listed in sorted
id order; the image of id ``X`` is ``<data_prefix>/X.jpg`` (``JPEGImages``).
The single-positive protocol (Cole et al. 2021) counts only ``1`` as
positive ('difficult' as negative) and keeps images with at least one
positive; both are the defaults here.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.class_lists import VOC_CLASSES

from ..zsl.zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['VOC_CLASSES', 'VOC_SPLITS', 'DIFFICULT_OPTIONS',
           'read_voc_image_sets', 'VOCMultiLabelDataset']

VOC_SPLITS = ('train', 'val', 'trainval', 'test')
DIFFICULT_OPTIONS = ('negative', 'unknown', 'positive')


def read_voc_image_sets(set_dir: str, split: str,
                        classes=VOC_CLASSES) -> Dict[str, Dict[int, int]]:
    """Read the per-class image-set files of one split.

    Args:
        set_dir (str): The ``ImageSets/Main`` folder.
        split (str): ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``.
        classes (Sequence[str]): Class names (file name prefixes).

    Returns:
        dict: image id -> {class index: VOC flag (1, 0 or -1)}; every image
        listed in any class file, in sorted id order.

    Raises:
        FileNotFoundError: A class file is missing (names the path).
        ValueError: A malformed line (names the file and line number), or
            class files that list different images.
    """
    labels: Dict[str, Dict[int, int]] = {}
    listed: Optional[set] = None
    for cls_idx, name in enumerate(classes):
        path = osp.join(set_dir, f'{name}_{split}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(f'VOC image-set file not found: {path}')
        ids = set()
        with open(path, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2 or parts[1] not in ('1', '0', '-1'):
                    raise ValueError(f'{path}:{line_no}: expected "<image id> '
                                     f'<1|0|-1>", got {line.strip()!r}')
                ids.add(parts[0])
                labels.setdefault(parts[0], {})[cls_idx] = int(parts[1])
        if listed is None:
            listed = ids
        elif ids != listed:
            diff = sorted(ids ^ listed)[:5]
            raise ValueError(f'{path} lists other images than the first class '
                             f'file of split {split!r} (e.g. {diff})')
    return OrderedDict(sorted(labels.items()))


@DATASETS.register_module()
class VOCMultiLabelDataset(ZSLMultiLabelDataset):
    """PASCAL VOC 2012 (20 classes) multi-label dataset.

    Args:
        data_root (str): The ``VOCdevkit/VOC2012`` folder.
        split (str): Image set: ``'train'``, ``'val'``, ``'trainval'`` or
            ``'test'`` (files ``ImageSets/Main/<class>_<split>.txt``).
        difficult_as (str): What a 'difficult' (0) flag becomes:
            ``'negative'`` (SPML reference), ``'unknown'`` (-1, ignored; the
            VOC evaluation convention) or ``'positive'``.
        empty_images (str): ``'drop'`` (default, SPML reference) or ``'keep'``
            images without a positive.
        data_prefix (str | dict): Image folder (default ``'JPEGImages'``).
        image_set_dir (str): Folder of the lists, relative to ``data_root``.
        **kwargs: ``ZSLMultiLabelDataset`` / ``BaseDataset`` arguments
            (``check_images``, ``bad_images``, ``pipeline``, ``indices`` ...).
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 difficult_as: str = 'negative',
                 empty_images: str = 'drop',
                 data_prefix='JPEGImages',
                 image_set_dir: str = 'ImageSets/Main',
                 **kwargs) -> None:
        if split not in VOC_SPLITS:
            raise ValueError(f'split must be one of {VOC_SPLITS}, got '
                             f'{split!r}')
        if difficult_as not in DIFFICULT_OPTIONS:
            raise ValueError(f'difficult_as must be one of '
                             f'{DIFFICULT_OPTIONS}, got {difficult_as!r}')
        self.split = split
        self.difficult_as = difficult_as
        self.image_set_dir = image_set_dir
        super().__init__(seen_classes=VOC_CLASSES, unseen_classes=(),
                         label_set='all', empty_images=empty_images,
                         ann_file='', data_root=data_root,
                         data_prefix=data_prefix, **kwargs)

    def load_raw_items(self) -> List[dict]:
        """Read the split's lists into raw items (positives / unknowns)."""
        set_dir = osp.join(self.data_root, self.image_set_dir)
        table = read_voc_image_sets(set_dir, self.split)
        img_dir = self.data_prefix.get('img_path', '')
        items = []
        for image_id, flags in table.items():
            positives, unknowns = [], []
            for cls_idx, flag in flags.items():
                if flag == 0:
                    flag = {'negative': -1, 'unknown': None,
                            'positive': 1}[self.difficult_as]
                    if flag is None:
                        unknowns.append(cls_idx)
                        continue
                if flag == 1:
                    positives.append(cls_idx)
            items.append(dict(img_path=osp.join(img_dir, image_id + '.jpg'),
                              positives=sorted(positives),
                              unknowns=sorted(unknowns)))
        return items
