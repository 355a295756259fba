"""Vocabularies for open-vocabulary inference: named sets, files, lists.

``read_vocabulary`` turns what a user types into a list of words:

* a list / tuple of words;
* a named set, a key of the one table of class lists,
  :data:`granzsl_mm.structures.class_lists.CLASS_LISTS` (any case, ``-``
  for ``_``): ``'coco80'``, ``'coco48_17'`` (48 seen then 17 unseen, the
  ZSL split), ``'coco48'`` / ``'coco_seen'``, ``'coco17'`` /
  ``'coco_unseen'``, ``'nuswide81'``, ``'voc20'``;
* a text file (one word per line, or comma-separated; ``#`` comments);
* a JSON file: a list of words, a description file (``classes`` mapping), an
  MMPretrain annotation file (``metainfo.classes``), COCO categories or a
  split file (``seen`` / ``unseen`` lists), read by the one class-name
  reader, :func:`granzsl_mm.structures.read_class_names`;
* a vocabulary file of learned embeddings (``*.pt``, its names);
* a string with commas or newlines (``'cat, dog, red car'``).
"""
import difflib
import os.path as osp
from typing import List, Optional, Sequence, Union

# The named class lists and the one class-name reader: their home is
# granzsl_mm.structures.
from granzsl_mm.structures.class_lists import CLASS_LISTS
from granzsl_mm.structures.class_names import read_class_names

__all__ = ['named_vocabularies', 'read_vocabulary', 'split_words']


def named_vocabularies() -> List[str]:
    """Names accepted by :func:`read_vocabulary` (the keys of
    :data:`~granzsl_mm.structures.class_lists.CLASS_LISTS`)."""
    return list(CLASS_LISTS)


def _named_key(name: str) -> Optional[str]:
    """The ``CLASS_LISTS`` key a typed name means (any case, ``-`` for
    ``_``), or None."""
    key = name.lower().replace('-', '_')
    return key if key in CLASS_LISTS else None


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


def _refuse_near_miss(text: str) -> None:
    """A lone token close to a named set is a typo, not a word to tag."""
    token = text.strip().lower().replace('-', '_')
    if not token or any(c in token for c in ' ,\n') or not any(
            c.isdigit() or c == '_' for c in token):
        return  # plain words ('cat', 'red car') are words
    near = difflib.get_close_matches(token, named_vocabularies(), n=1,
                                     cutoff=0.8)
    if near:
        raise KeyError(
            f'unknown vocabulary name {text!r}; did you mean {near[0]!r}? '
            f'Named vocabularies: {", ".join(named_vocabularies())} (to tag '
            f'with the single word, write {text + ","!r}).')


def read_vocabulary(vocabulary: Union[str, Sequence[str]]) -> List[str]:
    """Resolve a vocabulary (see the module docstring) to a list of words.

    Args:
        vocabulary: Words, a named set, a file path or a typed string.

    Returns:
        list[str]: The words, in order, without duplicates.

    Raises:
        KeyError: A single word that is one edit or so from a named set
            (``'coco81'``): the message names the nearest set and lists them
            all; write ``'coco81,'`` to tag with that one word.
    """
    if vocabulary is None:
        raise ValueError('no vocabulary given')
    if not isinstance(vocabulary, str):
        words = [str(w).strip() for w in vocabulary]
    elif _named_key(vocabulary):
        words = read_class_names(_named_key(vocabulary)).names
    elif osp.isfile(vocabulary):
        if vocabulary.endswith('.json'):
            words = read_class_names(vocabulary).names
        elif vocabulary.endswith(('.pt', '.pth')):
            from granzsl_mm.models.text.class_vocabulary import (
                load_vocabulary_file,
            )
            words = load_vocabulary_file(vocabulary)['names']
        else:
            with open(vocabulary, encoding='utf-8') as f:
                words = split_words(f.read())
    elif (',' in vocabulary or '\n' in vocabulary) or not vocabulary.endswith(
            ('.txt', '.json', '.pt', '.pth')):
        _refuse_near_miss(vocabulary)
        words = split_words(vocabulary)
    else:
        raise FileNotFoundError(f'vocabulary file not found: {vocabulary}')
    words = list(dict.fromkeys(w for w in words if w))
    if not words:
        raise ValueError(f'empty vocabulary: {vocabulary!r}')
    return words
