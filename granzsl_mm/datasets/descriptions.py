"""Class description files: format, validation, reading and writing.

Format id ``granzsl_mm.descriptions/v1`` (JSON)::

    {"format": "granzsl_mm.descriptions/v1",
     "notes": "optional free text",
     "classes": {"cat": {"attributes": ["has retractable claws"],
                         "parents": ["pet"], "children": ["Persian"],
                         "synonyms": ["house cat"],
                         "cooccurrence": ["a sofa"],
                         "sentences": ["a cat sleeping in the sun."],
                         "source": "written"}}}

Field conventions (they make the expanded sentences read well):
``attributes`` are verb phrases ("has retractable claws", "is usually
striped"); ``parents`` / ``children`` / ``synonyms`` are bare nouns (an
article is added); ``cooccurrence`` items read as written after "with"
("a sofa", "grass", "other people"); ``sentences`` are used as they are.
Every field is optional, but each class needs at least one non-empty one.

The GranZSL authors' released ``*_post_llm.json`` (keys ``"0"`` ..
``"C-1"`` in their label order, each ``{"node_name", "candidate_sentences"}``)
is read by :func:`read_post_llm`, which checks every ``node_name`` against
our class names.
"""
import json
import os
import os.path as osp
import re
import tempfile
from typing import Dict, List, Optional, Sequence

__all__ = [
    'DESCRIPTION_FORMAT', 'TEXT_FIELDS', 'SOURCES', 'DescriptionError',
    'validate_entry', 'validate_description_dict', 'check_classes',
    'load_descriptions', 'save_descriptions', 'read_post_llm',
    'normalize_class_name', 'load_any_descriptions', 'shipped_description_file',
    'atomic_write_json'
]

DESCRIPTION_FORMAT = 'granzsl_mm.descriptions/v1'
TEXT_FIELDS = ('attributes', 'parents', 'children', 'synonyms',
               'cooccurrence', 'sentences')
SOURCES = ('written', 'derived', 'template', 'llm')
_SHIPPED_DIR = osp.join(osp.dirname(__file__), 'description_files')

Descriptions = Dict[str, dict]


class DescriptionError(ValueError):
    """A description file is malformed or does not match the class list."""


def validate_entry(name: str, entry: object) -> List[str]:
    """List the problems of one class entry (empty list when valid).

    Args:
        name (str): The class name (for the messages).
        entry (object): The parsed entry.

    Returns:
        list[str]: Human-readable problems.
    """
    if not isinstance(entry, dict):
        return [f'{name!r}: entry must be an object, got '
                f'{type(entry).__name__}']
    problems = []
    unknown = sorted(set(entry) - set(TEXT_FIELDS) - {'source'})
    if unknown:
        problems.append(f'{name!r}: unknown fields {unknown}')
    for field in TEXT_FIELDS:
        values = entry.get(field, [])
        if not isinstance(values, list) or not all(
                isinstance(v, str) and v.strip() for v in values):
            problems.append(f'{name!r}: {field!r} must be a list of '
                            'non-empty strings')
    if 'source' in entry and entry['source'] not in SOURCES:
        problems.append(f'{name!r}: source {entry["source"]!r} not in '
                        f'{list(SOURCES)}')
    if not problems and not any(entry.get(f) for f in TEXT_FIELDS):
        problems.append(f'{name!r}: empty entry (no non-empty field)')
    return problems


def validate_description_dict(data: object,
                              check_entries: bool = True) -> Descriptions:
    """Validate a parsed description file; return its ``classes`` mapping.

    Args:
        data (object): The parsed JSON.
        check_entries (bool): Also validate each entry (otherwise only the
            top-level structure; :func:`check_classes` then checks them).

    Returns:
        dict[str, dict]: Class name -> entry.

    Raises:
        DescriptionError: Listing every problem found.
    """
    if not isinstance(data, dict) or not isinstance(data.get('classes'), dict):
        raise DescriptionError('a description file is an object with a '
                               '"classes" object')
    if data.get('format') != DESCRIPTION_FORMAT:
        raise DescriptionError(f'format must be {DESCRIPTION_FORMAT!r}, got '
                               f'{data.get("format")!r}')
    problems = []
    for name, entry in data['classes'].items():
        if not name.strip():
            problems.append('empty class name')
        if check_entries:
            problems += validate_entry(name, entry)
    if problems:
        raise DescriptionError('invalid description file:\n  ' +
                               '\n  '.join(problems))
    return data['classes']


def check_classes(descriptions: Descriptions,
                  classes: Sequence[str],
                  allow_extra: bool = False) -> None:
    """Check descriptions against a class list, reporting all problems once.

    Args:
        descriptions (dict[str, dict]): Class name -> entry.
        classes (Sequence[str]): The class names that must be described.
        allow_extra (bool): Accept described classes outside ``classes``
            (e.g. the COCO 80 file used for the 65 ZSL classes).

    Raises:
        DescriptionError: One error naming the missing classes, the unknown
            classes and the empty or malformed entries.
    """
    missing = [c for c in classes if c not in descriptions]
    wanted = set(classes)
    unknown = [] if allow_extra else [
        c for c in descriptions if c not in wanted]
    invalid = []
    for name, entry in descriptions.items():
        invalid += validate_entry(name, entry)
    if missing or unknown or invalid:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing classes: {missing}')
        if unknown:
            parts.append(f'{len(unknown)} unknown classes: {unknown}')
        if invalid:
            parts.append(f'{len(invalid)} empty or invalid entries: '
                         + '; '.join(invalid))
        raise DescriptionError('descriptions do not match the class list:\n'
                               '  ' + '\n  '.join(parts))


def _read_json(path: str) -> object:
    if not osp.isfile(path):
        raise FileNotFoundError(f'description file not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise DescriptionError(f'{path} is not valid JSON: {e}') from e


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
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.write('\n')
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def normalize_class_name(name: str) -> str:
    """Lower-case, underscores as spaces, runs of spaces collapsed."""
    return re.sub(r'\s+', ' ', name.replace('_', ' ')).strip().lower()


def read_post_llm(path: str, classes: Sequence[str]) -> Descriptions:
    """Read the GranZSL authors' ``*_post_llm.json`` release.

    Args:
        path (str): The file; keys ``"0"`` .. ``"C-1"`` in the paper's label
            order (seen then unseen), each ``{"node_name": str,
            "candidate_sentences": [str, ...]}``.
        classes (Sequence[str]): Our class names in the same order.

    Returns:
        dict[str, dict]: Class name -> ``{"sentences": [...],
        "source": "llm"}``.

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
        if not isinstance(sents, list) or not any(
                isinstance(s, str) and s.strip() for s in sents):
            problems.append(f'key "{i}" ({name!r}): no candidate_sentences')
            continue
        out[name] = {'sentences': [s for s in sents
                                   if isinstance(s, str) and s.strip()],
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
