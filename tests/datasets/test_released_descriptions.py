"""The authors' ``*_post_llm.json`` read as released.

The files here are generated in that exact shape (keys "0".."C-1", each
``{"node_name", "candidate_sentences"}``, the three sentence kinds written
as plain sentences, exact duplicates, sentences without a final period).
"""
import json

import pytest

from granzsl_mm.datasets.descriptions.expansion import (
    ALL_FIELDS,
    check_ablation,
    count_kinds,
    expand_descriptions,
)
from granzsl_mm.datasets.descriptions.format import (
    DescriptionError,
    classify_released_sentence,
    validate_entry,
)
from granzsl_mm.datasets.descriptions.io import load_any_descriptions
from granzsl_mm.structures.class_lists import COCO_SEEN_48, COCO_UNSEEN_17

COCO65 = list(COCO_SEEN_48 + COCO_UNSEEN_17)
NO = {'hierarchy': ['attributes', 'cooccurrence', 'sentences'],
      'attributes': ['parents', 'children', 'synonyms', 'cooccurrence',
                     'sentences'],
      'cooccurrence': ['attributes', 'parents', 'children', 'synonyms',
                       'sentences']}


def released_sentences(name: str, i: int) -> dict:
    """Sentences of one class in the released kinds: 3 hierarchy (one
    duplicated), 2 attributes, 1 co-occurrence without a period."""
    hier = [f'a small {name}, which is a {name}, which is a thing.',
            f'a {name}, which is a object.',
            f'a small {name}, which is a {name}, which is a thing.']
    attr = [f'a {name}, which has parts..', f'a {name}, which is an item.']
    cooc = [f'a {name}, which appears together with the Scene {i} - a place']
    return {'hier': hier, 'attr': attr, 'cooc': cooc}


def write_post_llm(path, classes=COCO65) -> dict:
    data, kinds = {}, {'hier': 0, 'attr': 0, 'cooc': 0}
    for i, name in enumerate(classes):
        parts = released_sentences(name, i)
        sents = parts['attr'][:1] + parts['hier'] + parts['cooc'] + \
            parts['attr'][1:]
        for k in kinds:
            kinds[k] += len(parts[k])
        data[str(i)] = {'node_name': name, 'candidate_sentences': sents}
    path.write_text(json.dumps(data, indent=1))
    return kinds


def test_classify_released_patterns():
    assert classify_released_sentence(
        'a Pepperoni, which is a pizza, which is a fast food.') == 'hierarchy'
    assert classify_released_sentence(
        'a cow, which appears together with the Lakeside - Grazing.') == \
        'cooccurrence'
    for s in ('a skateboard, which has wheels..', 'a person, which is arms.',
              'a toilet, which is an elongated or round shape.',
              'a cat, which often sleeps.'):
        assert classify_released_sentence(s) == 'attributes'
    assert classify_released_sentence('a photo of a cat.') == 'other'


def test_read_verbatim_with_kinds(tmp_path):
    path = tmp_path / 'mscoco_post_llm.json'
    counts = write_post_llm(path)
    desc = load_any_descriptions(str(path), COCO65)
    person = desc['person']
    assert person['sentences'] == json.loads(path.read_text())['0'][
        'candidate_sentences']  # order, duplicate and missing period kept
    assert person['sentence_kinds'] == ['attributes', 'hierarchy',
                                        'hierarchy', 'hierarchy',
                                        'cooccurrence', 'attributes']
    assert validate_entry('person', person) == []
    assert count_kinds(desc, COCO65) == dict(
        hierarchy=counts['hier'], attributes=counts['attr'],
        cooccurrence=counts['cooc'], other=0, sentences=0)


def test_expansion_as_the_reference_and_ablations(tmp_path):
    path = tmp_path / 'mscoco_post_llm.json'
    write_post_llm(path)
    desc = load_any_descriptions(str(path), COCO65)
    full = expand_descriptions(desc, COCO65, ALL_FIELDS,
                               templates='openai_imagenet_80', dedupe=False)
    assert [len(s) for s in full] == [6 + 80] * 65
    assert full[0][:6] == desc['person']['sentences']
    assert full[0][6] == 'a bad photo of a person.'
    deduped = expand_descriptions(desc, COCO65, ALL_FIELDS,
                                  templates='openai_imagenet_80')
    assert sum(map(len, deduped)) == 65 * (5 + 80)
    removed = {'hierarchy': 3, 'attributes': 2, 'cooccurrence': 1}
    for kind, fields in NO.items():
        check_ablation(desc, COCO65, fields)
        part = expand_descriptions(desc, COCO65, fields, dedupe=False)
        assert sum(map(len, part)) == 65 * (6 - removed[kind])
        assert all(classify_released_sentence(s) != kind
                   for sents in part for s in sents)


def test_ablation_that_removes_nothing_fails(tmp_path):
    path = tmp_path / 'post_llm.json'
    data = {str(i): {'node_name': n,
                     'candidate_sentences': [f'a {n}, which has legs.']}
            for i, n in enumerate(COCO65)}
    path.write_text(json.dumps(data))
    desc = load_any_descriptions(str(path), COCO65)
    check_ablation(desc, COCO65, ALL_FIELDS)
    with pytest.raises(DescriptionError, match='remove nothing'):
        check_ablation(desc, COCO65, NO['hierarchy'])
    check_ablation(desc, COCO65, NO['attributes'])  # removes the sentences


def test_nuswide_shape_is_accepted(tmp_path):
    names = [f'concept{i}' for i in range(1006)]  # 925 seen then 81 unseen
    path = tmp_path / 'nuswide_post_llm.json'
    write_post_llm(path, names)
    desc = load_any_descriptions(str(path), names)
    assert len(desc) == 1006 and list(desc)[925] == 'concept925'


def test_malformed_release_is_refused(tmp_path):
    path = tmp_path / 'bad.json'
    path.write_text(json.dumps({'0': {'node_name': 'person',
                                      'candidate_sentences': ['ok.', 3]}}))
    with pytest.raises(DescriptionError, match='candidate_sentences'):
        load_any_descriptions(str(path), ['person'])
