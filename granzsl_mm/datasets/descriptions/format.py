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
our class names. Its sentences are kept verbatim in ``sentences`` (the
reference trains on them as released: duplicates kept, no punctuation
added), with a parallel ``sentence_kinds`` list from
:func:`classify_released_sentence` so that the field ablations act on them.
"""
import re
from typing import Dict, List, Sequence

__all__ = [
    'DESCRIPTION_FORMAT', 'TEXT_FIELDS', 'SOURCES', 'Descriptions',
    'DescriptionError', 'validate_entry', 'validate_description_dict',
    'check_classes', 'normalize_class_name', 'SENTENCE_KINDS',
    'classify_released_sentence'
]

DESCRIPTION_FORMAT = 'granzsl_mm.descriptions/v1'
TEXT_FIELDS = ('attributes', 'parents', 'children', 'synonyms',
               'cooccurrence', 'sentences')
SOURCES = ('written', 'derived', 'template', 'llm')
# Kinds of the released sentences (names of the ablation groups of
# ``expansion.FIELD_GROUPS``; 'other' matches none of the patterns).
SENTENCE_KINDS = ('hierarchy', 'attributes', 'cooccurrence', 'other')

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
    unknown = sorted(set(entry) - set(TEXT_FIELDS) - {'source',
                                                       'sentence_kinds'})
    if unknown:
        problems.append(f'{name!r}: unknown fields {unknown}')
    kinds = entry.get('sentence_kinds')
    if kinds is not None and (
            not isinstance(kinds, list)
            or len(kinds) != len(entry.get('sentences', []))
            or not all(k in SENTENCE_KINDS for k in kinds)):
        problems.append(f'{name!r}: sentence_kinds must list one of '
                        f'{list(SENTENCE_KINDS)} per sentence')
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


def normalize_class_name(name: str) -> str:
    """Lower-case, underscores as spaces, runs of spaces collapsed."""
    return re.sub(r'\s+', ' ', name.replace('_', ' ')).strip().lower()


def classify_released_sentence(sentence: str) -> str:
    """Kind of one sentence of the authors' ``*_post_llm.json``.

    The released sentences read ``"a <head>, which <rest>"``; after the first
    ``", which "``: ``"is a "`` -> hierarchy ("a Persian, which is a cat."),
    ``"appears together with"`` -> co-occurrence, anything else (``"has"``,
    ``"often"``, ``"is an"`` ...) -> attributes; no ``", which "`` -> other.
    On the COCO file this gives 6125 / 2540 / 1199 / 0 of 9864.

    Args:
        sentence (str): One released sentence.

    Returns:
        str: One of :data:`SENTENCE_KINDS`.
    """
    cut = sentence.find(', which ')
    if cut < 0:
        return 'other'
    rest = sentence[cut + len(', which '):]
    if rest.startswith('is a '):
        return 'hierarchy'
    if rest.startswith('appears together with'):
        return 'cooccurrence'
    return 'attributes'
