"""Expansion of structured class descriptions into candidate sentences.

For a class ``cat`` with parent ``pet``, child ``Persian``, attribute
``has retractable claws`` and co-occurring ``a sofa``::

    a cat, which is a pet.
    a Persian, which is a cat.
    a Persian, which is a cat, which is a pet.
    a cat, which has retractable claws.
    a cat, which appears together with a sofa.

Order is deterministic: fields in the order of ``fields``, items in file
order, then the template sentences.

Released sentences (entries with ``sentence_kinds``, read from the authors'
``*_post_llm.json``) are used verbatim, in file order; a sentence is kept
when ``'sentences'`` is among ``fields`` and its kind's group
(:data:`FIELD_GROUPS`) has a field in ``fields`` (kind ``'other'`` always).
"""
from typing import Dict, List, Optional, Sequence, Union

from granzsl_mm.structures.prompts import fill_templates

from .format import TEXT_FIELDS, DescriptionError

__all__ = ['ALL_FIELDS', 'FIELD_GROUPS', 'ABLATION_GROUPS', 'with_article',
           'expand_entry', 'expand_descriptions', 'count_kinds',
           'check_ablation']

ALL_FIELDS = TEXT_FIELDS
# Ablation groups: switch one off by leaving its fields out of ``fields``.
FIELD_GROUPS: Dict[str, tuple] = {
    'hierarchy': ('parents', 'children', 'synonyms'),
    'attributes': ('attributes', ),
    'cooccurrence': ('cooccurrence', ),
    'sentences': ('sentences', ),
}
ABLATION_GROUPS = ('hierarchy', 'attributes', 'cooccurrence')


def _kind_selected(kind: str, fields: Sequence[str]) -> bool:
    group = FIELD_GROUPS.get(kind)
    return group is None or any(f in fields for f in group)


def with_article(noun: str) -> str:
    """Prefix ``a`` / ``an`` (by the first letter) to a noun phrase."""
    return ('an ' if noun[:1].lower() in 'aeiou' else 'a ') + noun


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text[-1:] in '.!?' else text + '.'


def expand_entry(name: str,
                 entry: dict,
                 fields: Sequence[str] = ALL_FIELDS,
                 chain_parents: bool = True,
                 templates: Union[None, str, Sequence[str]] = None,
                 dedupe: bool = True) -> List[str]:
    """Candidate sentences of one class.

    Args:
        name (str): The class name.
        entry (dict): Its description entry.
        fields (Sequence[str]): Fields to use, in this order (subset of
            :data:`ALL_FIELDS`).
        chain_parents (bool): Also write child -> class -> parent chains
            ("a Persian, which is a cat, which is a pet.").
        templates (None | str | Sequence[str]): Template sentences to add
            (a set name such as ``'openai_imagenet_80'`` or a list).
        dedupe (bool): Drop repeated sentences (first occurrence kept).

    Returns:
        list[str]: Sentences in deterministic order.
    """
    unknown = [f for f in fields if f not in ALL_FIELDS]
    if unknown:
        raise ValueError(f'unknown description fields {unknown}; known: '
                         f'{list(ALL_FIELDS)}')
    subject = with_article(name)
    parents = entry.get('parents', [])
    kinds = entry.get('sentence_kinds')
    out: List[str] = []
    for field in fields:
        if field == 'sentences' and kinds is not None:  # released, verbatim
            out += [s for s, k in zip(entry.get('sentences', []), kinds)
                    if _kind_selected(k, fields)]
            continue
        for item in entry.get(field, []):
            item = item.strip()
            if field == 'parents':
                out.append(f'{subject}, which is {with_article(item)}.')
            elif field == 'children':
                child = f'{with_article(item)}, which is {subject}'
                out.append(child + '.')
                if chain_parents:
                    out += [f'{child}, which is {with_article(p)}.'
                            for p in parents]
            elif field == 'synonyms':
                out.append(f'{with_article(item)}, which is {subject}.')
            elif field == 'attributes':
                out.append(f'{subject}, which {item.rstrip(".")}.')
            elif field == 'cooccurrence':
                out.append(f'{subject}, which appears together with '
                           f'{item.rstrip(".")}.')
            else:
                out.append(_sentence(item))
    out += fill_templates(name, templates)
    if dedupe:
        out = list(dict.fromkeys(out))
    return out


def expand_descriptions(
        descriptions: Dict[str, dict],
        classes: Sequence[str],
        fields: Sequence[str] = ALL_FIELDS,
        chain_parents: bool = True,
        templates: Union[None, str, Sequence[str]] = None,
        sources: Optional[Sequence[str]] = None,
        dedupe: bool = True) -> List[List[str]]:
    """Candidate sentences of each class of ``classes``.

    Args:
        descriptions (dict[str, dict]): Class name -> entry (must hold every
            class of ``classes``).
        classes (Sequence[str]): Class names, in label order.
        fields, chain_parents, templates: See :func:`expand_entry`.
        sources (Sequence[str], optional): Use only entries whose ``source``
            is listed (others contribute templates only).
        dedupe (bool): Drop repeated sentences within a class (the GranZSL
            reference keeps them: ``False`` in the paper configs).

    Returns:
        list[list[str]]: One list of sentences per class, in class order.
    """
    result = []
    for name in classes:
        entry = descriptions[name]
        if sources is not None and entry.get('source') not in sources:
            entry = {}
        result.append(expand_entry(name, entry, fields, chain_parents,
                                   templates, dedupe))
    return result


def count_kinds(descriptions: Dict[str, dict],
                classes: Sequence[str]) -> Dict[str, int]:
    """Description items of each ablation group over ``classes``.

    Structured fields count per item (``parents`` / ``children`` /
    ``synonyms`` -> hierarchy, ...); released sentences per their
    ``sentence_kinds``; our free ``sentences`` count as ``'sentences'``.

    Args:
        descriptions (dict[str, dict]): Class name -> entry.
        classes (Sequence[str]): Classes to count.

    Returns:
        dict[str, int]: Keys ``hierarchy``, ``attributes``, ``cooccurrence``,
        ``other`` and ``sentences``.
    """
    counts = dict.fromkeys(ABLATION_GROUPS + ('other', 'sentences'), 0)
    for name in classes:
        entry = descriptions[name]
        for group in ABLATION_GROUPS:
            counts[group] += sum(len(entry.get(f, []))
                                 for f in FIELD_GROUPS[group])
        kinds = entry.get('sentence_kinds')
        if kinds is None:
            counts['sentences'] += len(entry.get('sentences', []))
        else:
            for kind in kinds:
                counts[kind] += 1
    return counts


def check_ablation(descriptions: Dict[str, dict], classes: Sequence[str],
                   fields: Sequence[str]) -> Dict[str, int]:
    """Count the kinds and refuse an ablation that would remove nothing.

    Args:
        descriptions (dict[str, dict]): Class name -> entry.
        classes (Sequence[str]): Classes in use.
        fields (Sequence[str]): The fields an ablation keeps.

    Returns:
        dict[str, int]: :func:`count_kinds`.

    Raises:
        DescriptionError: A group is left out of ``fields`` but the
            descriptions hold none of it (so the ablation would silently
            train on everything).
    """
    counts = count_kinds(descriptions, classes)
    for group in ABLATION_GROUPS:
        if not any(f in fields for f in FIELD_GROUPS[group]) and \
                counts[group] == 0:
            raise DescriptionError(
                f'fields {list(fields)} leave out the {group!r} group '
                f'({list(FIELD_GROUPS[group])}), but the descriptions hold '
                f'no {group} items: this ablation would remove nothing '
                f'(kind counts: {counts})')
    return counts
