"""Vocabularies for open-vocabulary inference: named sets, files, lists.

``read_vocabulary`` turns what a user types into a list of words:

* a list / tuple of words;
* a named set: ``'coco80'``, ``'coco48_17'`` (48 seen then 17 unseen, the
  ZSL split), ``'coco48'`` / ``'coco_seen'``, ``'coco17'`` / ``'coco_unseen'``,
  ``'nuswide81'``;
* a text file (one word per line, or comma-separated; ``#`` comments);
* a JSON file: a list of words, a description file (``classes`` mapping), an
  MMPretrain annotation file (``metainfo.classes``), COCO categories or a
  split file (``seen`` / ``unseen`` lists), read by the one class-name
  reader, :func:`granzsl_mm.structures.read_class_names`;
* a vocabulary file of learned embeddings (``*.pt``, its names);
* a string with commas or newlines (``'cat, dog, red car'``).
"""
import json
import os.path as osp
from typing import List, Sequence, Union

# The class lists (COCO ZSL label order: seen then unseen) and the one
# class-name reader: their home is granzsl_mm.structures.
from granzsl_mm.structures.class_lists import (
    COCO80_CLASSES,
    COCO_SEEN_48,
    COCO_UNSEEN_17,
)
from granzsl_mm.structures.class_names import read_class_names

__all__ = ['COCO_SEEN_48', 'COCO_UNSEEN_17', 'named_vocabularies',
           'read_vocabulary', 'split_words']


def _shipped_classes(name: str) -> List[str]:
    from granzsl_mm.datasets.descriptions import shipped_description_file
    with open(shipped_description_file(name), encoding='utf-8') as f:
        return list(json.load(f)['classes'])


def named_vocabularies() -> List[str]:
    """Names accepted by :func:`read_vocabulary`."""
    return ['coco80', 'coco48_17', 'coco48', 'coco_seen', 'coco17',
            'coco_unseen', 'nuswide81']


def _named(name: str) -> List[str]:
    key = name.lower().replace('-', '_')
    if key in ('coco48_17', 'coco65', 'coco_zsl'):
        return list(COCO_SEEN_48 + COCO_UNSEEN_17)
    if key in ('coco48', 'coco_seen'):
        return list(COCO_SEEN_48)
    if key in ('coco17', 'coco_unseen'):
        return list(COCO_UNSEEN_17)
    if key in ('coco80', 'coco'):
        return list(COCO80_CLASSES)
    if key in ('nuswide81', 'nuswide'):
        return _shipped_classes('nuswide81')
    return []


def split_words(text: str) -> List[str]:
    """Words of a typed string: newline- or comma-separated, ``#`` comments.

    Args:
        text: E.g. ``'cat, dog\\nred car'``.

    Returns:
        list[str]: Stripped, non-empty words, duplicates dropped (first kept).
    """
    words = []
    for line in text.splitlines():
        line = line.split('#', 1)[0]
        words += [w.strip() for w in line.split(',')]
    return list(dict.fromkeys(w for w in words if w))


def read_vocabulary(vocabulary: Union[str, Sequence[str]]) -> List[str]:
    """Resolve a vocabulary (see the module docstring) to a list of words.

    Args:
        vocabulary: Words, a named set, a file path or a typed string.

    Returns:
        list[str]: The words, in order, without duplicates.
    """
    if vocabulary is None:
        raise ValueError('no vocabulary given')
    if not isinstance(vocabulary, str):
        words = [str(w).strip() for w in vocabulary]
    elif _named(vocabulary):
        words = _named(vocabulary)
    elif osp.isfile(vocabulary):
        if vocabulary.endswith('.json'):
            words = read_class_names(vocabulary).names
        elif vocabulary.endswith(('.pt', '.pth')):
            from granzsl_mm.models.text.vocabulary_file import load_vocabulary_file
            words = load_vocabulary_file(vocabulary)['names']
        else:
            with open(vocabulary, encoding='utf-8') as f:
                words = split_words(f.read())
    elif (',' in vocabulary or '\n' in vocabulary) or not vocabulary.endswith(
            ('.txt', '.json', '.pt', '.pth')):
        words = split_words(vocabulary)
    else:
        raise FileNotFoundError(f'vocabulary file not found: {vocabulary}')
    words = list(dict.fromkeys(w for w in words if w))
    if not words:
        raise ValueError(f'empty vocabulary: {vocabulary!r}')
    return words
