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
"""
from typing import Dict, List, Optional, Sequence, Union

from ..templates import fill_templates
from .format import TEXT_FIELDS

__all__ = ['ALL_FIELDS', 'FIELD_GROUPS', 'with_article', 'expand_entry',
           'expand_descriptions']

ALL_FIELDS = TEXT_FIELDS
# Ablation groups: switch one off by leaving its fields out of ``fields``.
FIELD_GROUPS: Dict[str, tuple] = {
    'hierarchy': ('parents', 'children', 'synonyms'),
    'attributes': ('attributes', ),
    'cooccurrence': ('cooccurrence', ),
    'sentences': ('sentences', ),
}


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
    out: List[str] = []
    for field in fields:
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
        sources: Optional[Sequence[str]] = None) -> List[List[str]]:
    """Candidate sentences of each class of ``classes``.

    Args:
        descriptions (dict[str, dict]): Class name -> entry (must hold every
            class of ``classes``).
        classes (Sequence[str]): Class names, in label order.
        fields, chain_parents, templates: See :func:`expand_entry`.
        sources (Sequence[str], optional): Use only entries whose ``source``
            is listed (others contribute templates only).

    Returns:
        list[list[str]]: One list of sentences per class, in class order.
    """
    result = []
    for name in classes:
        entry = descriptions[name]
        if sources is not None and entry.get('source') not in sources:
            entry = {}
        result.append(expand_entry(name, entry, fields, chain_parents,
                                   templates))
    return result
