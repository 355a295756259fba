"""Open Images v4 zero-shot multi-label dataset (7,186 seen / 400 unseen)."""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset

from granzsl_mm.registry import DATASETS

from .openimages_files import (
    find_openimages_file,
    read_class_descriptions,
    read_human_labels,
    read_top_unseen,
    read_trainable_classes,
    read_unseen_labels,
    unique_display_names,
)
from .zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['OpenImagesZSLDataset', 'OPENIMAGES_ANN_FORMAT',
           'read_openimages_split']

OPENIMAGES_ANN_FORMAT = 'granzsl_mm.openimages_zsl/v1'
SPLITS = ('train', 'validation', 'test')
UNSEEN_SETS = ('top400', 'all')


def read_openimages_split(root: str, unseen: str = 'top400') -> dict:
    """BiAM's seen / unseen split with MIDs and display names.

    Args:
        root (str): Folder holding the split files (or their ``2018_04/``).
        unseen (str): ``'top400'`` (the 400 evaluated, ``top_400_unseen.csv``
            order) or ``'all'`` (the 2,594 of ``unseen_labels.pkl``).

    Returns:
        dict: ``seen_mids``, ``unseen_mids``, ``seen_classes``,
        ``unseen_classes`` (unique display names), ``names`` (plain display
        names, seen then unseen; may repeat).
    """
    if unseen not in UNSEEN_SETS:
        raise ValueError(f'unseen must be one of {UNSEEN_SETS}, got '
                         f'{unseen!r}')
    seen = read_trainable_classes(find_openimages_file(
        root, 'classes-trainable.txt'))
    pool = read_unseen_labels(find_openimages_file(root, 'unseen_labels.pkl'))
    overlap = sorted(set(seen) & set(pool))
    if overlap:
        raise ValueError(f'{len(overlap)} MIDs are both trainable and '
                         f'unseen, e.g. {overlap[:5]}')
    if unseen == 'top400':
        top = read_top_unseen(find_openimages_file(root,
                                                   'top_400_unseen.csv'),
                              len(pool))
        pool = [pool[i] for i in top]
    names = read_class_descriptions(find_openimages_file(
        root, 'class-descriptions.csv'))
    display = unique_display_names(seen + pool, names)
    return dict(seen_mids=seen, unseen_mids=pool,
                seen_classes=display[:len(seen)],
                unseen_classes=display[len(seen):],
                names=[names[m] for m in seen + pool])


@DATASETS.register_module()
class OpenImagesZSLDataset(ZSLMultiLabelDataset):
    """Zero-shot multi-label Open Images v4 (BiAM / LESA split).

    Label order: the 7,186 trainable classes (``classes-trainable.txt``
    order) then the 400 evaluated unseen classes (``top_400_unseen.csv``
    order; ``unseen='all'`` for all 2,594); ``label_set='all'`` gives the
    7,586 GZSL labels. ``gt_score`` is 1 for a verified positive, 0 for a
    verified negative and -1 (unknown) for every label the csv does not
    list: most entries are unknown, so items store the positive and the
    negative indices (``gt_label``, ``negative_label``).

    ``metainfo['classes']`` holds unique display names (a name shared by
    several MIDs carries its MID), ``class_mids`` the MIDs and
    ``class_names`` the plain names (for prompts).

    BiAM's test protocol keeps only images with a positive per setting:
    pass ``empty_images='drop'`` or let the metric drop them
    (``drop_empty_images=True``).

    Example::

        dict(type='OpenImagesZSLDataset', data_root='data/openimages',
             split='test', label_set='all', empty_images='drop',
             data_prefix=dict(img_path='test'), pipeline=[...])

    Args:
        data_root (str): Open Images root: the split files in
            ``2018_04/`` (or the root), the labels in
            ``2018_04/<split>/<split>-annotations-human-imagelabels.csv``.
        split (str): ``'train'``, ``'validation'`` or ``'test'``.
        unseen (str): ``'top400'`` or ``'all'``.
        ann_file (str): Our converted json
            (``tools/dataset_converters/openimages_zsl.py``) instead of the
            csv; relative to ``data_root``.
        label_set (str): ``'seen'``, ``'unseen'`` or ``'all'``.
        empty_images (str): ``'keep'`` or ``'drop'``.
        check_images (str): ``'exists'``, ``'verify'`` or ``'none'``.
        bad_images (str): ``'error'`` or ``'skip'``.
        data_prefix (dict): Image folder (``img_path``, default = ``split``)
            holding ``<ImageID>.jpg``.
        **kwargs: ``BaseDataset`` arguments.
    """

    converted_format = OPENIMAGES_ANN_FORMAT
    converter = 'tools/dataset_converters/openimages_zsl.py'

    def __init__(self,
                 data_root: str = '',
                 split: str = 'test',
                 unseen: str = 'top400',
                 ann_file: str = '',
                 label_set: str = 'all',
                 empty_images: str = 'keep',
                 check_images: str = 'exists',
                 bad_images: str = 'error',
                 data_prefix: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        self.split = split
        self._negatives: Dict[str, List[int]] = {}
        self._converted: Optional[dict] = None
        if ann_file:
            self._converted = self.read_converted(ann_file, data_root)
            meta = self._converted['metainfo']
            self.split_info = {k: meta[k] for k in (
                'seen_mids', 'unseen_mids', 'seen_classes', 'unseen_classes',
                'names')}
        else:
            self.split_info = read_openimages_split(data_root, unseen)
        self.unseen = unseen
        info = self.split_info
        num_seen = len(info['seen_mids'])
        part = {'seen': slice(0, num_seen), 'unseen': slice(num_seen, None),
                'all': slice(None)}.get(label_set, slice(None))
        meta = dict(
            class_mids=(info['seen_mids'] + info['unseen_mids'])[part],
            class_names=info['names'][part])
        meta.update(metainfo or {})
        super().__init__(
            seen_classes=info['seen_classes'],
            unseen_classes=info['unseen_classes'], label_set=label_set,
            empty_images=empty_images, check_images=check_images,
            bad_images=bad_images, data_root=data_root, ann_file=ann_file,
            data_prefix=data_prefix or dict(img_path=split), metainfo=meta,
            **kwargs)

    def _csv_items(self) -> List[dict]:
        info = self.split_info
        mids = info['seen_mids'] + info['unseen_mids']
        # only the label set's MIDs: an image without a row of them is left
        # out (BiAM's training extraction skips non-trainable rows)
        in_set = set(self._metainfo['class_mids'])
        column_of = {m: i for i, m in enumerate(mids) if m in in_set}
        path = find_openimages_file(
            self.data_root,
            f'{self.split}/{self.split}-annotations-human-imagelabels.csv')
        ids, pos, neg = read_human_labels(path, column_of)
        return [dict(img_path=f'{i}.jpg', positives=p, negatives=n)
                for i, p, n in zip(ids, pos, neg)]

    def _ann_items(self) -> List[dict]:
        return [dict(img_path=d['img_path'], positives=d['gt_label'],
                     negatives=d.get('negative_label', []))
                for d in self.converted_items()]

    def load_raw_items(self) -> List[dict]:
        """Read the csv (or our json) into raw items; negatives are kept
        aside (the base class knows positives and unknowns only)."""
        items = self._ann_items() if self.ann_file else self._csv_items()
        self._negatives = {}
        for item in items:
            item['img_path'] = osp.join(self.image_folder, item['img_path'])
            self._negatives[item['img_path']] = item.pop('negatives')
            item['unknowns'] = []
        return items

    def load_data_list(self) -> List[dict]:
        """Data list with ``negative_label`` (label-set indices) per item."""
        data_list = super().load_data_list()
        negatives, self._negatives = self._negatives, {}
        for item in data_list:
            item['negative_label'] = self._to_label_set(
                negatives[item['img_path']])
            item.pop('unknown_label', None)
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The item with ``gt_score`` expanded: -1 except the listed labels.
        """
        info = BaseDataset.get_data_info(self, idx)
        vec = np.full(len(self._metainfo['classes']), -1, dtype=np.float32)
        vec[np.asarray(info['negative_label'], dtype=np.int64)] = 0
        vec[np.asarray(info['gt_label'], dtype=np.int64)] = 1
        info['gt_score'] = vec
        return info
