"""Shared base of the zero-shot multi-label image datasets (COCO, NUS-WIDE).

Subclasses read their formats into *raw items* over the full class list
(seen then unseen)::

    dict(img_path=str, positives=[...], unknowns=[...])

and this base restricts them to the requested label set, handles images
without positives and images that are missing or unreadable, and builds the
data-sample fields: ``gt_label`` (positive indices), ``gt_score`` (float
vector over the label set's classes in {1, 0, -1}). Items are stored in the
compact form (index lists) and ``gt_score`` is expanded on access, so a
100k-image, 1006-class set costs no dense matrix.
"""
import gc
import os.path as osp
from collections import Counter
from typing import List, Optional, Sequence

from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

from granzsl_mm.utils.label_matrix import dense_labels

from ..image_checks import (
    IMAGE_CHECKS,
    BadImageError,
    describe_bad_images,
    find_bad_images,
)
from .annotation_file import converted_data_list, read_annotation_file

__all__ = ['ZSLMultiLabelDataset', 'LABEL_SETS', 'EMPTY_IMAGE_OPTIONS',
           'BAD_IMAGE_OPTIONS', 'DUPLICATE_IMAGE_OPTIONS']

LABEL_SETS = ('seen', 'unseen', 'all')
EMPTY_IMAGE_OPTIONS = ('keep', 'drop')
BAD_IMAGE_OPTIONS = ('error', 'skip')
DUPLICATE_IMAGE_OPTIONS = ('error', 'dedupe')


class ZSLMultiLabelDataset(BaseDataset):
    """Base of the zero-shot multi-label datasets (not registered).

    Args:
        seen_classes (Sequence[str]): Seen class names (label order first).
        unseen_classes (Sequence[str]): Unseen class names.
        label_set (str): ``'seen'``, ``'unseen'`` or ``'all'`` (seen then
            unseen): the classes of ``gt_score`` and ``metainfo['classes']``.
        empty_images (str): ``'keep'`` or ``'drop'`` images without any
            positive label in the label set.
        check_images (str): ``'exists'`` (default; one directory listing per
            folder), ``'verify'`` (also open each image with PIL) or
            ``'none'``.
        bad_images (str): ``'error'`` (default: one error with the count and
            examples) or ``'skip'`` (drop them, count them in
            ``self.skipped_images`` and log a warning). With ``'skip'``, an
            image that fails to load later, during the run, is skipped too
            and counted by the metric (see :meth:`prepare_data`).
        duplicate_images (str): ``'error'`` (default: an annotation listing
            the same image file twice, under one id or two, is refused,
            naming the ids: it would be scored twice) or ``'dedupe'`` (keep
            the first listing with the union of the labels, count the
            others in ``self.num_duplicate_images`` and log it).
        **kwargs: ``mmpretrain`` ``BaseDataset`` arguments (``ann_file``,
            ``data_root``, ``data_prefix``, ``pipeline``, ``indices``, ...).
    """

    # Our converted annotation json, for the subclasses that read one: its
    # format id and the converter that writes it (named in errors).
    converted_format: Optional[str] = None
    converter: str = ''

    def __init__(self,
                 seen_classes: Sequence[str],
                 unseen_classes: Sequence[str],
                 label_set: str = 'all',
                 empty_images: str = 'keep',
                 check_images: str = 'exists',
                 bad_images: str = 'error',
                 duplicate_images: str = 'error',
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        for name, value, allowed in (
                ('label_set', label_set, LABEL_SETS),
                ('empty_images', empty_images, EMPTY_IMAGE_OPTIONS),
                ('check_images', check_images, IMAGE_CHECKS),
                ('bad_images', bad_images, BAD_IMAGE_OPTIONS),
                ('duplicate_images', duplicate_images,
                 DUPLICATE_IMAGE_OPTIONS)):
            if value not in allowed:
                raise ValueError(f'{name} must be one of {allowed}, got '
                                 f'{value!r}')
        seen, unseen = list(seen_classes), list(unseen_classes)
        dup = sorted(c for c, n in Counter(seen + unseen).items() if n > 1)
        if dup:
            raise ValueError(f'classes listed twice in the split: {dup}')
        self.all_seen_classes, self.all_unseen_classes = seen, unseen
        self.label_set = label_set
        self.empty_images = empty_images
        self.check_images = check_images
        self.bad_images = bad_images
        self.duplicate_images = duplicate_images
        self.num_duplicate_images = 0
        self.skipped_images: List[str] = []
        self.num_dropped_empty = 0
        meta = dict(
            classes=self.set_seen + self.set_unseen,
            seen_classes=self.set_seen, unseen_classes=self.set_unseen)
        meta.update(metainfo or {})
        super().__init__(metainfo=meta, **kwargs)

    # label set ------------------------------------------------------------
    @property
    def set_seen(self) -> List[str]:
        """Seen classes of the label set."""
        return [] if self.label_set == 'unseen' else self.all_seen_classes

    @property
    def set_unseen(self) -> List[str]:
        """Unseen classes of the label set."""
        return [] if self.label_set == 'seen' else self.all_unseen_classes

    def _to_label_set(self, indices: Sequence[int]) -> List[int]:
        """Full-list indices (seen then unseen) -> label-set indices."""
        num_seen = len(self.all_seen_classes)
        if self.label_set == 'all':
            return sorted(indices)
        if self.label_set == 'seen':
            return sorted(i for i in indices if i < num_seen)
        return sorted(i - num_seen for i in indices if i >= num_seen)

    # our converted annotation file ------------------------------------------
    @classmethod
    def read_converted(cls, ann_file: str, data_root: str = '') -> dict:
        """Read our converted annotation json, its format checked.

        Args:
            ann_file (str): The file, relative to ``data_root`` unless
                absolute.
            data_root (str): The dataset root.

        Returns:
            dict: The file (``metainfo``, ``data_list``).
        """
        path = ann_file if osp.isabs(ann_file) or not data_root else \
            osp.join(data_root, ann_file)
        return read_annotation_file(path, cls.converted_format, cls.converter)

    def converted_items(self) -> List[dict]:
        """The items of our converted file, checked against the label set.

        The copy a subclass read at construction (``self._converted``, for
        its metainfo) is used once and dropped; the file is read again when
        ``full_init`` runs again (e.g. after pickling).

        Returns:
            list[dict]: The file's ``data_list``.
        """
        ann, self._converted = getattr(self, '_converted', None), None
        if ann is None:
            ann = self.read_converted(self.ann_file)
        return converted_data_list(ann, self.ann_file, self.label_set)

    @property
    def image_folder(self) -> str:
        """The image folder (``data_prefix['img_path']``, '' when none)."""
        return self.data_prefix.get('img_path', '') or ''

    # items ------------------------------------------------------------------
    def load_raw_items(self) -> List[dict]:
        """Read the annotation into raw items (see the module docstring)."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Raw items -> data list of the label set, with the checks applied.

        The garbage collector is paused meanwhile: building 100k small
        dicts would otherwise trigger full collections of the (torch-sized)
        heap again and again.

        Returns:
            list[dict]: ``{'img_path', 'gt_label', 'unknown_label'}`` items.
        """
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_data_list()
        finally:
            if was_enabled:
                gc.enable()

    def _load_data_list(self) -> List[dict]:
        self.num_dropped_empty, self.skipped_images = 0, []
        data_list = []
        for raw in self._dedupe(self.load_raw_items()):
            positives = self._to_label_set(raw['positives'])
            if not positives and self.empty_images == 'drop':
                self.num_dropped_empty += 1
                continue
            item = dict(img_path=raw['img_path'], gt_label=positives,
                        unknown_label=self._to_label_set(
                            raw.get('unknowns', ())))
            data_list.append(item)
        if self.num_dropped_empty:
            print_log(f'{type(self).__name__}: dropped '
                      f'{self.num_dropped_empty} images without a positive '
                      f'{self.label_set} label', logger='current')
        data_list = self._drop_bad_images(data_list)
        if not data_list:
            raise ValueError(
                f'{type(self).__name__} ({self.ann_file or self.data_root}): '
                f'no image left ({self.num_dropped_empty} dropped without a '
                f'positive {self.label_set} label, {len(self.skipped_images)} '
                'skipped as missing/unreadable)')
        return data_list

    def _dedupe(self, raw_items: List[dict]) -> List[dict]:
        """Refuse (or merge) raw items listing the same image file."""
        first, groups = {}, {}
        for i, raw in enumerate(raw_items):
            path = raw['img_path']
            if path in first:
                groups.setdefault(path, [first[path]]).append(i)
            else:
                first[path] = i
        self.num_duplicate_images = sum(len(g) - 1 for g in groups.values())
        if not groups:
            return raw_items
        source = self.ann_file or self.data_root

        def ids(group):
            return ', '.join(str(raw_items[i].get('img_id', f'item {i}'))
                             for i in group)
        shown = '; '.join(f'{path} (ids {ids(g)})'
                          for path, g in list(groups.items())[:5])
        if self.duplicate_images == 'error':
            raise ValueError(
                f'{type(self).__name__} ({source}): {len(groups)} image(s) '
                f'listed more than once ({self.num_duplicate_images} extra '
                f'listings), so they would be scored twice: {shown}. Fix the '
                "annotation, or pass duplicate_images='dedupe' to keep one "
                'listing per image (labels merged; the count is logged).')
        merged = []
        for i, raw in enumerate(raw_items):
            group = groups.get(raw['img_path'])
            if group is None:
                merged.append(raw)
            elif group[0] == i:
                positives = sorted({p for j in group
                                    for p in raw_items[j]['positives']})
                unknowns = sorted({u for j in group
                                   for u in raw_items[j].get('unknowns', ())}
                                  - set(positives))
                merged.append(dict(raw, positives=positives,
                                   unknowns=unknowns))
        print_log(f'{type(self).__name__} ({source}): merged '
                  f'{self.num_duplicate_images} duplicate listing(s) of '
                  f'{len(groups)} image(s): {shown}', logger='current',
                  level=30)
        return merged

    def _drop_bad_images(self, data_list: List[dict]) -> List[dict]:
        paths = [item['img_path'] for item in data_list]
        bad = find_bad_images(paths, self.check_images)
        if not bad:
            return data_list
        summary = describe_bad_images(paths, bad)
        if self.bad_images == 'error':
            raise BadImageError(
                f'{type(self).__name__} ({self.ann_file or self.data_root}): '
                f'{summary}. Fix the image folder (data_prefix), or pass '
                "bad_images='skip' to leave them out (they are counted).")
        bad_idx = {i for i, _ in bad}
        self.skipped_images = [paths[i] for i in sorted(bad_idx)]
        print_log(f'{type(self).__name__}: skipped {summary}',
                  logger='current', level=30)
        return [item for i, item in enumerate(data_list) if i not in bad_idx]

    def get_data_info(self, idx: int) -> dict:
        """The item with ``gt_score`` (float32, {1, 0, -1}) expanded."""
        info = super().get_data_info(idx)
        info['gt_score'] = dense_labels(len(self._metainfo['classes']),
                                        info['gt_label'],
                                        info.get('unknown_label', ()))
        return info

    def prepare_data(self, idx: int):
        """Run the pipeline; errors name the image that caused them.

        With ``bad_images='skip'`` an image that fails to load during the
        run (after the checks at build time passed) is not fatal: the item
        becomes a placeholder (black picture, every label unknown) whose
        data sample carries ``image_skipped=True`` in its metainfo;
        ``ZSLMultiLabelMetric`` leaves such samples out and counts them in
        its logged summary.
        """
        info = self.get_data_info(idx)
        try:
            return self.pipeline(info)
        except Exception as e:
            reason = f'{type(e).__name__}: {e}'
            if self.bad_images != 'skip':
                raise BadImageError(f'failed to load or transform image '
                                    f'{info["img_path"]}: {reason}') from e
        print_log(f'{type(self).__name__}: skipped image {info["img_path"]} '
                  f"during the run (bad_images='skip'): {reason}",
                  logger='current', level=30)
        return self._placeholder(info)

    def _placeholder(self, info: dict):
        """The pipeline after its image loader, on a black picture."""
        import numpy as np
        transforms = list(getattr(self.pipeline, 'transforms', []))
        start = next((i + 1 for i, t in enumerate(transforms)
                      if 'Load' in type(t).__name__), 0)
        info = dict(info)
        img = np.zeros((32, 32, 3), np.uint8)
        info.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        info['gt_score'] = np.full_like(info['gt_score'], -1)
        info['gt_label'] = []
        for transform in transforms[start:]:
            info = transform(info)
        sample = info.get('data_samples') if isinstance(info, dict) else None
        if sample is not None:
            sample.set_metainfo(dict(image_skipped=True))
        return info
