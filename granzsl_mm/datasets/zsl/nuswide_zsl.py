"""NUS-WIDE zero-shot multi-label dataset (925 seen tags / 81 concepts)."""
import os.path as osp
from typing import List, Optional

import numpy as np

from granzsl_mm.registry import DATASETS

from .nuswide_metadata import (
    find_metadata_file,
    read_binary_matrix,
    read_concept_labels,
    read_label_pickle,
    read_split_rows,
    read_zsl_classes,
    rows_to_positives,
)
from .zsl_multilabel_dataset import ZSLMultiLabelDataset

__all__ = ['NUSWideZSLDataset', 'NUSWIDE_ANN_FORMAT']

NUSWIDE_ANN_FORMAT = 'granzsl_mm.zsl_multilabel/v1'
LABEL_SOURCES = ('metadata', 'pickles', 'ann_file')
SPLITS = ('train', 'test', 'all')


def _join(root: str, path: str) -> str:
    return path if osp.isabs(path) or not root else osp.join(root, path)


@DATASETS.register_module()
class NUSWideZSLDataset(ZSLMultiLabelDataset):
    """Zero-shot multi-label NUS-WIDE.

    Label order: the 925 seen tags (``TagList1k`` order, concepts removed)
    then the 81 concepts (``Concepts81`` order); ``label_set='all'`` gives the
    1006 GZSL labels. Labels come from one of:

    * ``'metadata'``: the official files (see
      :mod:`granzsl_mm.datasets.zsl.nuswide_metadata`): seen labels from
      ``AllTags1k.txt``, unseen from ``AllLabels/Labels_*.txt``; images from
      ``TrainImagelist.txt`` / ``TestImagelist.txt`` (``split``).
    * ``'pickles'``: the papers' ``test_seen_labels.pkl`` (1000 signed slots,
      the 925 non-concept ones kept) and ``test_unseen_labels.pkl`` (81),
      converted from +1 / -1 / 0 to our 1 / 0 / -1 (0 = unknown); class
      names still from ``TagList1k.txt`` / ``Concepts81.txt``. This is the
      papers' exact test set.
    * ``'ann_file'``: our file from ``tools/dataset_converters/nuswide_zsl.py``.

    Example::

        dict(type='NUSWideZSLDataset', data_root='data/nus_wide',
             split='test', label_set='all', labels_from='pickles',
             data_prefix=dict(img_path='Flickr'), pipeline=[...])

    Args:
        data_root (str): NUS-WIDE root (metadata and, by default, images).
        split (str): ``'train'``, ``'test'`` or ``'all'`` (metadata only).
        labels_from (str, optional): ``'metadata'``, ``'pickles'`` or
            ``'ann_file'``; default ``'ann_file'`` when ``ann_file`` is given,
            else ``'metadata'``.
        ann_file (str): Our annotation json (relative to ``data_root``).
        seen_pickle (str): The papers' seen-label pickle.
        unseen_pickle (str): The papers' unseen-label pickle.
        label_set (str): ``'seen'``, ``'unseen'`` or ``'all'``.
        empty_images (str): ``'keep'`` or ``'drop'`` images without a
            positive label in the label set.
        check_images (str): ``'exists'``, ``'verify'`` or ``'none'``.
        bad_images (str): ``'error'`` (default; many NUS-WIDE URLs are dead,
            the error gives the count and examples) or ``'skip'``.
        data_prefix (dict): Image folder (``img_path``, default ``'Flickr'``,
            holding ``actor/0001_2124494179.jpg`` ...).
        **kwargs: ``BaseDataset`` arguments.
    """

    converted_format = NUSWIDE_ANN_FORMAT
    converter = 'tools/dataset_converters/nuswide_zsl.py'

    def __init__(self,
                 data_root: str = '',
                 split: str = 'test',
                 labels_from: Optional[str] = None,
                 ann_file: str = '',
                 seen_pickle: str = 'test_seen_labels.pkl',
                 unseen_pickle: str = 'test_unseen_labels.pkl',
                 label_set: str = 'all',
                 empty_images: str = 'keep',
                 check_images: str = 'exists',
                 bad_images: str = 'error',
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        labels_from = labels_from or ('ann_file' if ann_file else 'metadata')
        if labels_from not in LABEL_SOURCES:
            raise ValueError(f'labels_from must be one of {LABEL_SOURCES}, '
                             f'got {labels_from!r}')
        if split not in SPLITS:
            raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
        if labels_from == 'ann_file' and not ann_file:
            raise ValueError("labels_from='ann_file' needs ann_file")
        self.split = split
        self.labels_from = labels_from
        self.seen_pickle = _join(data_root, seen_pickle)
        self.unseen_pickle = _join(data_root, unseen_pickle)
        self._converted: Optional[dict] = None
        if labels_from == 'ann_file':
            self._converted = self.read_converted(ann_file, data_root)
            meta = self._converted['metainfo']
            seen, unseen = meta['seen_classes'], meta['unseen_classes']
            self.tags = None
        else:
            self.tags, seen, unseen = read_zsl_classes(data_root)
        super().__init__(
            seen_classes=seen, unseen_classes=unseen, label_set=label_set,
            empty_images=empty_images, check_images=check_images,
            bad_images=bad_images, data_root=data_root,
            ann_file=ann_file if labels_from == 'ann_file' else '',
            data_prefix=data_prefix or dict(img_path='Flickr'), **kwargs)

    # our annotation file --------------------------------------------------
    def _items_from_ann(self) -> List[dict]:
        return [dict(img_path=d['img_path'], positives=d['gt_label'],
                     unknowns=d.get('unknown_label', []))
                for d in self.converted_items()]

    # official metadata ------------------------------------------------------
    def _items_from_metadata(self) -> List[dict]:
        all_keys, keys, rows = read_split_rows(self.data_root, self.split)
        positives = [[] for _ in keys]
        num_seen = len(self.all_seen_classes)
        if self.label_set != 'unseen':
            col_of = {t: i for i, t in enumerate(self.tags)}
            cols = [col_of[t] for t in self.all_seen_classes]
            mat = read_binary_matrix(
                find_metadata_file(self.data_root, 'AllTags1k.txt'),
                len(self.tags), rows=rows, cols=cols, num_rows=len(all_keys))
            positives = rows_to_positives(mat)
        if self.label_set != 'seen':
            mat = read_concept_labels(self.data_root, self.all_unseen_classes,
                                      len(all_keys))[rows]
            for pos, extra in zip(positives,
                                  rows_to_positives(mat, offset=num_seen)):
                pos.extend(extra)
        return [dict(img_path=k, positives=p, unknowns=[])
                for k, p in zip(keys, positives)]

    # the papers' pickles ----------------------------------------------------
    def _items_from_pickles(self) -> List[dict]:
        num_seen = len(self.all_seen_classes)
        parts, keys = [], None
        if self.label_set != 'unseen':
            col_of = {t: i for i, t in enumerate(self.tags)}
            keys, seen = read_label_pickle(
                self.seen_pickle, len(self.tags),
                keep=[col_of[t] for t in self.all_seen_classes])
            parts.append(seen)
        if self.label_set != 'seen':
            ukeys, unseen = read_label_pickle(
                self.unseen_pickle, len(self.all_unseen_classes))
            if keys is None:
                keys = ukeys
            else:
                if set(keys) != set(ukeys):
                    only_s = sorted(set(keys) - set(ukeys))
                    only_u = sorted(set(ukeys) - set(keys))
                    raise ValueError(
                        f'{self.seen_pickle} and {self.unseen_pickle} list '
                        f'different images: {len(only_s)} only in the first '
                        f'(e.g. {only_s[:3]}), {len(only_u)} only in the '
                        f'second (e.g. {only_u[:3]})')
                pos_of = {k: i for i, k in enumerate(ukeys)}
                unseen = unseen[[pos_of[k] for k in keys]]
            parts.append(unseen)
        labels = np.concatenate(parts, axis=1)
        keys = self._with_folders(keys)
        offset = num_seen if self.label_set == 'unseen' else 0
        pos = rows_to_positives(labels == 1, offset)
        unk = rows_to_positives(labels == -1, offset)
        return [dict(img_path=k, positives=p, unknowns=u)
                for k, p, u in zip(keys, pos, unk)]

    def _with_folders(self, keys: List[str]) -> List[str]:
        """Pickle keys that are bare file names get their folder from
        ``Imagelist.txt`` (file names are unique: they hold the Flickr id)."""
        bare = [k for k in keys if '/' not in k]
        if not bare:
            return keys
        folder_of: dict = {}
        for key in read_split_rows(self.data_root, 'all')[0]:
            name = key.rsplit('/', 1)[-1]
            folder_of[name] = None if name in folder_of else key
        unresolved = [k for k in bare if folder_of.get(k) is None]
        if unresolved:
            raise ValueError(f'{len(unresolved)} pickle keys have no folder '
                             'and no unique match in Imagelist.txt, e.g. '
                             f'{unresolved[:5]}')
        return [folder_of[k] if '/' not in k else k for k in keys]

    def load_raw_items(self) -> List[dict]:
        """Read the labels from the configured source (``labels_from``)."""
        items = {'metadata': self._items_from_metadata,
                 'pickles': self._items_from_pickles,
                 'ann_file': self._items_from_ann}[self.labels_from]()
        for item in items:
            item['img_path'] = osp.join(self.image_folder, item['img_path'])
        return items
