"""The one reader of class names: names in label order and the seen count.

Every class-name argument of the package (model ``class_names``, dataset
``split_file`` / ``index_classes``, ``tools/generate_descriptions.py
--classes``, the inferencer's JSON vocabularies) goes through
:func:`read_class_names`. It reads:

* a key of :data:`~granzsl_mm.structures.class_lists.CLASS_LISTS`
  (``'coco80'``, ``'coco48_17'``, ...); an unknown key is an error naming
  the nearest key and all of them;
* a list of names (the seen count is unknown);
* a split ``{"seen": ..., "unseen": ...}`` (a dict, or such a JSON file),
  whose values are lists or class-name files; seen names that are also
  unseen are left out of the seen ones (NUS-WIDE: the 1000 tags minus the
  81 concepts = 925 seen);
* the papers' split pickle ``{'train': ids, 'test': ids}`` (``.pickle`` /
  ``.pkl``): indices into ``index_classes``, each set sorted ascending.
  It is read by a restricted unpickler that refuses every global (only
  containers and numbers come back), never by ``pickle.load``;
* a JSON file: a list of names, a description file (``classes`` mapping),
  an MMPretrain annotation file (``metainfo.classes``), COCO categories or
  an instances file (names sorted by category id), or a split;
* any other file: one name a line (blank lines skipped).

Standard library only at import (the pickle reader of ``utils``, the
ground floor, is imported when a pickle is read): both ``models`` and
``datasets`` import it.
"""
import difflib
import os.path as osp
from typing import Any, List, Mapping, NamedTuple, Optional, Sequence, Union

from .class_lists import CLASS_LISTS

__all__ = ['ClassSplit', 'ClassSource', 'NAMED_SUBSETS', 'read_class_names',
           'unknown_class_list']

ClassSource = Union[str, Sequence[str], Mapping[str, Any]]

# A model's own class subsets (``set_vocabulary`` and the inferencer):
# 'gzsl' = 'all', 'zsl' = 'unseen'.
NAMED_SUBSETS = ('all', 'seen', 'unseen', 'gzsl', 'zsl')


class ClassSplit(NamedTuple):
    """Class names in label order (seen then unseen) and the seen count.

    Unpacks as ``names, num_seen = read_class_names(...)``.
    """
    names: List[str]
    num_seen: Optional[int]  # None where the source does not say

    @property
    def seen(self) -> List[str]:
        """The seen names (all of them when the seen count is unknown)."""
        return list(self.names if self.num_seen is None
                    else self.names[:self.num_seen])

    @property
    def unseen(self) -> List[str]:
        """The unseen names (none when the seen count is unknown)."""
        return [] if self.num_seen is None else list(
            self.names[self.num_seen:])


def unknown_class_list(name: str) -> KeyError:
    """The error for a class-list key that :data:`CLASS_LISTS` lacks.

    Args:
        name (str): The key given.

    Returns:
        KeyError: Naming the nearest known key (if any) and all of them.
    """
    near = difflib.get_close_matches(name, list(CLASS_LISTS), n=1)
    hint = f'; did you mean {near[0]!r}?' if near else ''
    return KeyError(f'unknown class list {name!r} (neither a key of '
                    f'CLASS_LISTS nor a file){hint} Known class lists: '
                    f'{sorted(CLASS_LISTS)}')


def _is_key_like(source: str) -> bool:
    # a bare word ('coco_48_17'), not a path ('split.json', 'data/names')
    return not any(c in source for c in ('.', '/', osp.sep))


def _split(seen: ClassSource, unseen: ClassSource) -> ClassSplit:
    unseen_names = read_class_names(unseen).names
    drop = set(unseen_names)
    seen_names = [n for n in read_class_names(seen).names if n not in drop]
    return ClassSplit(seen_names + unseen_names, len(seen_names))


def _from_pickle(path: str, index_classes: Optional[ClassSource]) -> ClassSplit:
    # the one restricted unpickler (standard library and NumPy; imported
    # here so that reading a list or a JSON file needs neither)
    from granzsl_mm.utils.safe_pickle import safe_pickle_load
    ids = safe_pickle_load(path)
    if not isinstance(ids, dict):
        raise ValueError(f'{path}: expected {{"train": ids, "test": ids}}, '
                         f'got {type(ids).__name__}')
    if index_classes is None:
        raise ValueError(f'{path} holds class indices: pass index_classes '
                         '(names by index)')
    names = read_class_names(index_classes).names
    try:
        seen = [names[i] for i in sorted(ids['train'])]
        unseen = [names[i] for i in sorted(ids['test'])]
    except (KeyError, IndexError, TypeError) as e:
        raise ValueError(f'{path}: expected {{"train": ids, "test": ids}} '
                         f'indexing {len(names)} classes: {e!r}') from e
    return ClassSplit(seen + unseen, len(seen))


def _from_json_data(data: Any, path: str) -> ClassSplit:
    if isinstance(data, dict):
        if 'seen' in data or 'unseen' in data:
            return _split(data.get('seen', []), data.get('unseen', []))
        if isinstance(data.get('classes'), (dict, list)):
            return ClassSplit([str(n) for n in data['classes']], None)
        meta = data.get('metainfo')
        if isinstance(meta, dict) and isinstance(meta.get('classes'),
                                                 (dict, list)):
            return ClassSplit([str(n) for n in meta['classes']], None)
        if isinstance(data.get('categories'), list):
            data = data['categories']
    if isinstance(data, list):
        if data and all(isinstance(c, dict) for c in data):
            try:  # COCO categories
                cats = sorted(data, key=lambda c: c['id'])
                return ClassSplit([str(c['name']) for c in cats], None)
            except (KeyError, TypeError) as e:
                raise ValueError(f'{path}: categories need "id" and "name": '
                                 f'{e!r}') from e
        return ClassSplit([str(n) for n in data], None)
    raise ValueError(f'{path}: expected a list of names, a split (seen / '
                     'unseen), a description file (classes), an annotation '
                     'file (metainfo.classes) or COCO categories')


def read_class_names(source: ClassSource,
                     index_classes: Optional[ClassSource] = None
                     ) -> ClassSplit:
    """Class names in label order and the seen count (see the module doc).

    Args:
        source (str | Sequence[str] | Mapping): A key of
            ``CLASS_LISTS``, names, a ``seen`` / ``unseen`` mapping, or a
            file.
        index_classes (str | Sequence[str], optional): Names by index, for
            a split pickle (a list, or any source this function reads, e.g.
            a COCO categories json).

    Returns:
        ClassSplit: ``(names, num_seen)``; ``num_seen`` is None unless the
        source is a split.

    Raises:
        KeyError: A bare word that is neither a key of ``CLASS_LISTS`` nor
            a file (the message names the nearest key).
        FileNotFoundError: A file that does not exist.
        ValueError: A file or mapping of an unknown layout.
    """
    if isinstance(source, Mapping):
        if 'seen' not in source:
            raise ValueError('a class-name mapping needs "seen" (and '
                             f'"unseen"), got keys {sorted(source)}')
        return _split(source['seen'], source.get('unseen', []))
    if not isinstance(source, str):
        return ClassSplit([str(n) for n in source], None)
    if source in CLASS_LISTS:
        return read_class_names(CLASS_LISTS[source])
    if not osp.isfile(source):
        if _is_key_like(source):
            raise unknown_class_list(source)
        raise FileNotFoundError(f'class-name file not found: {source}')
    if source.endswith(('.pickle', '.pkl')):
        return _from_pickle(source, index_classes)
    if source.endswith('.json'):
        from granzsl_mm.utils.json_files import read_json
        return _from_json_data(read_json(source, 'class-name file'), source)
    with open(source, encoding='utf-8') as f:
        text = f.read()
    return ClassSplit([ln.strip() for ln in text.splitlines() if ln.strip()],
                      None)
