"""Text-only dataset of (class index, description sentence) items."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from granzsl_mm.registry import DATASETS
from granzsl_mm.structures.class_lists import COCO80_CLASSES
from granzsl_mm.structures.class_names import read_class_names
from granzsl_mm.utils.safe_pickle import safe_pickle_load

from .expansion import ALL_FIELDS, check_ablation, expand_descriptions
from .io import (
    DescriptionError,
    check_classes,
    load_any_descriptions,
    load_descriptions,
)

__all__ = ['ClassDescriptionDataset', 'read_class_split']

ClassList = Union[Sequence[str], Dict[str, Sequence[str]]]


def _as_list(value: Union[None, str, Sequence[str]]) -> List[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _is_coco_split(ids: object) -> bool:
    """Whether ``ids`` is the papers' COCO 48/17 split of the 80 classes."""
    if not isinstance(ids, dict):
        return False
    try:
        train = [int(i) for i in ids['train']]
        test = [int(i) for i in ids['test']]
    except (KeyError, TypeError, ValueError):
        return False
    everything = train + test
    return (len(train), len(test)) == (48, 17) and len(set(everything)) == 65 \
        and all(0 <= i < len(COCO80_CLASSES) for i in everything)


def read_class_split(
        split_file: str,
        index_classes: Union[None, str, Sequence[str]] = None
) -> Tuple[List[str], List[str]]:
    """Read a seen/unseen class split (a wrapper of the one reader,
    :func:`granzsl_mm.structures.read_class_names`).

    Args:
        split_file (str): Our JSON ``{"seen": [...], "unseen": [...]}``, or
            the papers' ``cls_ids.pickle`` (``{'train': ids, 'test': ids}``,
            indices into ``index_classes``; each set sorted ascending; read
            without running code).
        index_classes (None | str | Sequence[str]): Class names by index
            (list, or a COCO categories / instances json) for the pickle.
            Defaults, for a COCO split pickle (48 ``train`` + 17 ``test``
            distinct indices below 80), to the 80 COCO names in category-id
            order (:data:`granzsl_mm.structures.COCO80_CLASSES`); needed
            for any other pickle.

    Returns:
        tuple[list[str], list[str]]: Seen and unseen class names.
    """
    if not osp.isfile(split_file):
        raise FileNotFoundError(f'class split file not found: {split_file}')
    if index_classes is None and split_file.endswith(('.pickle', '.pkl')):
        if _is_coco_split(safe_pickle_load(split_file)):
            index_classes = list(COCO80_CLASSES)
    split = read_class_names(split_file, index_classes)
    if split.num_seen is None:
        raise ValueError(f'{split_file}: expected {{"seen": [...], '
                         '"unseen": [...]}}')
    return split.seen, split.unseen


@DATASETS.register_module()
class ClassDescriptionDataset(BaseDataset):
    """Items ``{'text': sentence, 'gt_label': class index}`` for text-only
    training (GranZSL), from a description file and a class list.

    Classes (label order seen then unseen) come from, in order of precedence:
    ``classes`` (a list, all seen, or ``{"seen": [...], "unseen": [...]}``),
    ``split_file`` (see :func:`read_class_split`), or the description files'
    own class order (``description_file`` seen, ``unseen_description_file``
    unseen), e.g. NUS-WIDE 925 + 81 without a split file::

        dict(type='ClassDescriptionDataset',
             description_file='nuswide_seen925',
             unseen_description_file='nuswide81',
             templates='openai_imagenet_80',
             pipeline=[dict(type='PackTextInputs')])

    Args:
        description_file (str | list[str]): Our ``granzsl_mm.descriptions/v1``
            file(s) (merged), the authors' ``*_post_llm.json`` (one file, in
            label order), or shipped names (``'coco80'``, ``'nuswide81'``,
            ``'nuswide_seen925'``).
        classes (list | dict, optional): Class names.
        split_file (str, optional): Class split file.
        index_classes (str | list, optional): Names by index for a pickle
            split; defaults to the description file's class order.
        unseen_description_file (str | list[str], optional): Files of the
            unseen classes (merged with the others; their classes are the
            unseen ones when neither ``classes`` nor ``split_file`` is given).
        fields (Sequence[str]): Description fields to expand (ablations leave
            groups out).
        chain_parents (bool): Child -> class -> parent chains.
        templates (None | str | list): Template sentences added per class
            (``'openai_imagenet_80'``).
        sources (Sequence[str], optional): Use only entries with these
            ``source`` values (others give templates only).
        allow_extra (bool): Accept described classes outside the class list.
        dedupe (bool): Drop repeated sentences within a class. GranZSL's
            reference keeps them (its COCO file repeats 102 sentences): the
            paper configs pass ``False``.
        **kwargs: ``BaseDataset`` arguments (``pipeline``, ``data_root``,
            ``indices``, ``lazy_init``, ...).
    """

    METAINFO: dict = {}

    def __init__(self,
                 description_file: Union[str, Sequence[str]],
                 classes: Optional[ClassList] = None,
                 split_file: Optional[str] = None,
                 index_classes: Union[None, str, Sequence[str]] = None,
                 unseen_description_file: Union[None, str,
                                                Sequence[str]] = None,
                 fields: Sequence[str] = ALL_FIELDS,
                 chain_parents: bool = True,
                 templates: Union[None, str, Sequence[str]] = None,
                 sources: Optional[Sequence[str]] = None,
                 allow_extra: bool = True,
                 dedupe: bool = True,
                 **kwargs) -> None:
        data_root = kwargs.get('data_root') or ''
        self.seen_files = [self._join(data_root, f)
                           for f in _as_list(description_file)]
        self.unseen_files = [self._join(data_root, f)
                             for f in _as_list(unseen_description_file)]
        self.split_file = (self._join(data_root, split_file)
                           if split_file else None)
        self.fields = tuple(fields)
        self.chain_parents = chain_parents
        self.templates = templates
        self.sources = sources
        self.allow_extra = allow_extra
        self.dedupe = dedupe
        self.kind_counts: Dict[str, int] = {}
        seen, unseen = self._resolve_classes(classes, index_classes)
        self.descriptions = self._load(seen + unseen)
        metainfo = dict(
            classes=seen + unseen, seen_classes=seen, unseen_classes=unseen,
            class_parents=[list(self.descriptions[c].get('parents', []))
                           for c in seen + unseen])
        metainfo.update(kwargs.pop('metainfo', None) or {})
        super().__init__(ann_file='', metainfo=metainfo, **kwargs)

    @staticmethod
    def _join(root: str, path: str) -> str:
        joined = osp.join(root, path)
        return joined if root and osp.exists(joined) else path

    def _load(self, classes: List[str]) -> Dict[str, dict]:
        files = self.seen_files + self.unseen_files
        if len(files) == 1:  # ours or the authors' post_llm format
            return load_any_descriptions(files[0], classes, self.allow_extra)
        merged: Dict[str, dict] = {}
        for path in files:
            part = load_descriptions(path)
            dup = sorted(set(part) & set(merged))
            if dup:
                raise DescriptionError(f'{path}: classes described twice: '
                                       f'{dup}')
            merged.update(part)
        check_classes(merged, classes, self.allow_extra)
        return merged

    def _file_order(self, files: List[str]) -> Optional[List[str]]:
        names: List[str] = []
        for path in files:
            try:
                names += list(load_descriptions(path))
            except DescriptionError:
                return None  # post_llm format: no names in the file
        return names

    def _resolve_classes(self, classes, index_classes):
        if isinstance(classes, dict):
            return list(classes['seen']), list(classes.get('unseen', []))
        if classes is not None:
            return list(classes), []
        if self.split_file is not None:
            return read_class_split(
                self.split_file,
                index_classes or self._file_order(self.seen_files))
        seen = self._file_order(self.seen_files)
        if seen is None:
            raise ValueError('pass classes or split_file: the class order '
                             f'cannot be taken from {self.seen_files}')
        return seen, self._file_order(self.unseen_files) or []

    def load_data_list(self) -> List[dict]:
        """Expand every class's descriptions into items.

        The description items of each kind (hierarchy, attributes,
        co-occurrence; released sentences by their pattern) are counted,
        logged and kept in :attr:`kind_counts`; an ablation (a kind's fields
        left out of ``fields``) fails if the descriptions hold none of that
        kind, instead of silently training on everything.

        Returns:
            list[dict]: ``{'text', 'gt_label'}`` items, class by class.

        Raises:
            DescriptionError: An ablation that removes nothing, or a class
                left without sentences.
        """
        classes = self.metainfo['classes']
        self.kind_counts = check_ablation(self.descriptions, classes,
                                          self.fields)
        per_class = expand_descriptions(self.descriptions, classes,
                                        self.fields, self.chain_parents,
                                        self.templates, self.sources,
                                        dedupe=self.dedupe)
        empty = [c for c, s in zip(classes, per_class) if not s]
        if empty:
            raise DescriptionError(
                f'no sentences for {len(empty)} classes with fields '
                f'{list(self.fields)}: {empty}')
        total = sum(len(sents) for sents in per_class)
        print_log(f'ClassDescriptionDataset: {len(classes)} classes, '
                  f'description items per kind {self.kind_counts} '
                  f'(fields {list(self.fields)}, dedupe={self.dedupe}); '
                  f'{total} training items with templates', logger='current')
        return [{'text': s, 'gt_label': i}
                for i, sents in enumerate(per_class) for s in sents]

    @property
    def sentences_per_class(self) -> List[int]:
        """Number of sentences of each class, in class order."""
        counts = [0] * len(self.metainfo['classes'])
        for i in range(len(self)):
            counts[self.get_data_info(i)['gt_label']] += 1
        return counts
