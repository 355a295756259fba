"""Reading and writing class description files (ours and the released ones)."""
import json
import os
import os.path as osp
from typing import Optional, Sequence

from granzsl_mm.utils.atomic_io import atomic_write_text
from granzsl_mm.utils.json_files import JSONFileError, read_json

from .format import (
    DESCRIPTION_FORMAT,
    DescriptionError,
    Descriptions,
    check_classes,
    classify_released_sentence,
    normalize_class_name,
    validate_description_dict,
)

__all__ = [
    'load_descriptions', 'save_descriptions', 'read_post_llm',
    'load_any_descriptions', 'shipped_description_file', 'atomic_write_json'
]

_SHIPPED_DIR = osp.join(osp.dirname(__file__), 'files')


def _read_json(path: str) -> object:
    try:
        return read_json(path, 'description file')
    except JSONFileError as e:
        raise DescriptionError(str(e)) from None


def shipped_description_file(name: str) -> str:
    """Path of a description file shipped with the package.

    Args:
        name (str): File name with or without ``.json`` (``'coco80'``,
            ``'nuswide81'``, ``'nuswide_seen925'``).

    Returns:
        str: Absolute path.
    """
    fname = name if name.endswith('.json') else name + '.json'
    path = osp.join(_SHIPPED_DIR, fname)
    if not osp.isfile(path):
        shipped = sorted(os.listdir(_SHIPPED_DIR))
        raise FileNotFoundError(f'no shipped description file {name!r}; '
                                f'shipped: {shipped}')
    return path


def _resolve(path: str) -> str:
    if osp.isfile(path) or osp.sep in path or '/' in path:
        return path
    return shipped_description_file(path)


def load_descriptions(path: str,
                      classes: Optional[Sequence[str]] = None,
                      allow_extra: bool = False) -> Descriptions:
    """Load and validate a ``granzsl_mm.descriptions/v1`` file.

    Args:
        path (str): File path, or the name of a shipped file (``'coco80'``).
        classes (Sequence[str], optional): If given, check the file against
            these classes (see :func:`check_classes`).
        allow_extra (bool): Passed to :func:`check_classes`.

    Returns:
        dict[str, dict]: Class name -> entry, in file order.
    """
    path = _resolve(path)
    try:
        descriptions = validate_description_dict(
            _read_json(path), check_entries=classes is None)
    except DescriptionError as e:
        raise DescriptionError(f'{path}: {e}') from e
    if classes is not None:
        try:
            check_classes(descriptions, classes, allow_extra)
        except DescriptionError as e:
            raise DescriptionError(f'{path}: {e}') from e
    return descriptions


def save_descriptions(descriptions: Descriptions,
                      path: str,
                      notes: Optional[str] = None) -> None:
    """Validate and write descriptions atomically (temp file + rename).

    Args:
        descriptions (dict[str, dict]): Class name -> entry.
        path (str): Output path.
        notes (str, optional): Top-level ``notes`` text.
    """
    data = {'format': DESCRIPTION_FORMAT}
    if notes:
        data['notes'] = notes
    data['classes'] = descriptions
    validate_description_dict(data)
    atomic_write_json(data, path)


def atomic_write_json(data: object, path: str) -> None:
    """Write JSON so that readers never see a half-written file."""
    # the one atomic writer (synced, mode 0o666 & ~umask as `open` gives)
    atomic_write_text(
        json.dumps(data, indent=1, ensure_ascii=False) + '\n', path)

def read_post_llm(path: str, classes: Sequence[str]) -> Descriptions:
    """Read the GranZSL authors' ``*_post_llm.json`` release.

    Args:
        path (str): The file; keys ``"0"`` .. ``"C-1"`` in the paper's label
            order (seen then unseen), each ``{"node_name": str,
            "candidate_sentences": [str, ...]}``.
        classes (Sequence[str]): Our class names in the same order.

    Returns:
        dict[str, dict]: Class name -> ``{"sentences": [...],
        "sentence_kinds": [...], "source": "llm"}``; the sentences exactly
        as released (order, duplicates and punctuation kept; only blank
        strings dropped), each with its kind
        (:func:`classify_released_sentence`).

    Raises:
        DescriptionError: Listing every key / node name mismatch, so that no
            sentence is silently given to the wrong class.
    """
    data = _read_json(path)
    if not isinstance(data, dict):
        raise DescriptionError(f'{path}: expected an object keyed "0".."C-1"')
    expected = [str(i) for i in range(len(classes))]
    problems = []
    if sorted(data, key=lambda k: (len(k), k)) != expected:
        extra = sorted(set(data) - set(expected))
        absent = [k for k in expected if k not in data]
        problems.append(f'keys must be "0".."{len(classes) - 1}" for '
                        f'{len(classes)} classes; missing {absent}, '
                        f'unexpected {extra}')
    out: Descriptions = {}
    for i, name in enumerate(classes):
        item = data.get(str(i))
        if item is None:
            continue
        if not isinstance(item, dict) or 'node_name' not in item:
            problems.append(f'key "{i}": no node_name')
            continue
        node = str(item['node_name'])
        if normalize_class_name(node) != normalize_class_name(name):
            problems.append(f'key "{i}": node_name {node!r} != class {name!r}')
            continue
        sents = item.get('candidate_sentences')
        if not isinstance(sents, list) or not all(
                isinstance(s, str) for s in sents) or not any(
                    s.strip() for s in sents):
            problems.append(f'key "{i}" ({name!r}): candidate_sentences must '
                            'be a list of strings, not all empty')
            continue
        sents = [s for s in sents if s.strip()]  # blank lines only
        out[name] = {'sentences': sents,
                     'sentence_kinds': [classify_released_sentence(s)
                                        for s in sents],
                     'source': 'llm'}
    if problems:
        raise DescriptionError(f'{path} does not match the class list:\n  ' +
                               '\n  '.join(problems))
    return out


def load_any_descriptions(path: str,
                          classes: Sequence[str],
                          allow_extra: bool = False) -> Descriptions:
    """Load our format or the authors' ``post_llm`` format (detected).

    Args:
        path (str): File path or shipped name.
        classes (Sequence[str]): Class names (the post_llm file must list
            exactly these, in order).
        allow_extra (bool): For our format, accept extra described classes.

    Returns:
        dict[str, dict]: Class name -> entry.
    """
    path = _resolve(path)
    data = _read_json(path)
    if isinstance(data, dict) and 'classes' not in data and data and all(
            k.isdigit() for k in data):
        return read_post_llm(path, classes)
    return load_descriptions(path, classes, allow_extra)
