"""Description format, validation, post_llm reader and expansion."""
import json

import pytest

from granzsl_mm.datasets import (
    DESCRIPTION_FORMAT,
    DescriptionError,
    check_classes,
    expand_entry,
    load_any_descriptions,
    load_descriptions,
    read_post_llm,
    save_descriptions,
)
from granzsl_mm.structures.prompts import OPENAI_IMAGENET_TEMPLATES

CAT = {
    'parents': ['pet', 'animal'],
    'children': ['Persian'],
    'synonyms': ['house cat'],
    'attributes': ['has retractable claws', 'has whiskers'],
    'cooccurrence': ['a sofa', 'grass'],
    'sentences': ['a cat sleeping on a windowsill'],
    'source': 'written',
}


def _write(tmp_path, classes, name='d.json'):
    path = tmp_path / name
    path.write_text(json.dumps({'format': DESCRIPTION_FORMAT,
                                'classes': classes}))
    return str(path)


def test_expansion_exact_sentences():
    got = expand_entry('cat', CAT)
    assert got == [
        'a cat, which has retractable claws.',
        'a cat, which has whiskers.',
        'a cat, which is a pet.',
        'a cat, which is an animal.',
        'a Persian, which is a cat.',
        'a Persian, which is a cat, which is a pet.',
        'a Persian, which is a cat, which is an animal.',
        'a house cat, which is a cat.',
        'a cat, which appears together with a sofa.',
        'a cat, which appears together with grass.',
        'a cat sleeping on a windowsill.',
    ]


def test_expansion_ablations_and_templates():
    no_hier = expand_entry('cat', CAT, fields=['attributes', 'cooccurrence'])
    assert no_hier == ['a cat, which has retractable claws.',
                       'a cat, which has whiskers.',
                       'a cat, which appears together with a sofa.',
                       'a cat, which appears together with grass.']
    no_chain = expand_entry('cat', CAT, fields=['children'],
                            chain_parents=False)
    assert no_chain == ['a Persian, which is a cat.']
    tpl = expand_entry('apple', {}, templates='openai_imagenet_80')
    assert tpl == [t.format('apple') for t in OPENAI_IMAGENET_TEMPLATES]
    assert len(tpl) == 80
    # dedupe keeps the first occurrence; order is deterministic
    both = expand_entry('cat', {'sentences': ['a photo of a cat.']},
                        templates=['a photo of a {}.', 'art of a {}.'])
    assert both == ['a photo of a cat.', 'art of a cat.']
    with pytest.raises(ValueError, match='unknown description fields'):
        expand_entry('cat', CAT, fields=['colour'])


def test_round_trip(tmp_path):
    path = str(tmp_path / 'out.json')
    save_descriptions({'cat': CAT}, path, notes='hand-written')
    data = json.loads(open(path).read())
    assert data['format'] == DESCRIPTION_FORMAT and data['notes']
    assert load_descriptions(path, ['cat']) == {'cat': CAT}


def test_validation_lists_all_problems(tmp_path):
    path = _write(tmp_path, {
        'cat': CAT,
        'dog': {},                         # empty entry
        'cow': {'attributes': [], 'source': 'written'},  # empty too
        'zebra': {'attributes': ['is striped']},         # unknown class
    })
    with pytest.raises(DescriptionError) as e:
        load_descriptions(path, ['cat', 'dog', 'cow', 'horse', 'sheep'])
    msg = str(e.value)
    assert "2 missing classes: ['horse', 'sheep']" in msg
    assert "1 unknown classes: ['zebra']" in msg
    assert "'dog': empty entry" in msg and "'cow': empty entry" in msg
    # extra classes are accepted on request, missing ones never
    check_classes({'cat': CAT, 'zebra': {'parents': ['equine']}}, ['cat'],
                  allow_extra=True)


def test_malformed_file_errors(tmp_path):
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(DescriptionError, match='not valid JSON'):
        load_descriptions(str(bad))
    with pytest.raises(FileNotFoundError, match='nope.json'):
        load_descriptions(str(tmp_path / 'nope.json'))
    path = _write(tmp_path, {'cat': {'attributes': 'is furry', 'colour': [],
                                     'source': 'guess'}})
    with pytest.raises(DescriptionError) as e:
        load_descriptions(path)
    msg = str(e.value)
    assert "unknown fields ['colour']" in msg
    assert "'attributes' must be a list" in msg and "'guess'" in msg
    wrong = tmp_path / 'w.json'
    wrong.write_text(json.dumps({'format': 'other', 'classes': {}}))
    with pytest.raises(DescriptionError, match='format must be'):
        load_descriptions(str(wrong))


def _post_llm(tmp_path, names):
    path = tmp_path / 'coco_post_llm.json'
    path.write_text(json.dumps({
        str(i): {'node_name': n, 'candidate_sentences': [f'{n} sentence {i}',
                                                         '']}
        for i, n in enumerate(names)}))
    return str(path)


def test_post_llm_reader(tmp_path):
    path = _post_llm(tmp_path, ['Teddy_Bear', 'hot  dog', 'cat'])
    got = read_post_llm(path, ['teddy bear', 'hot dog', 'cat'])
    assert list(got) == ['teddy bear', 'hot dog', 'cat']
    assert got['hot dog'] == {'sentences': ['hot  dog sentence 1'],
                              'sentence_kinds': ['other'],
                              'source': 'llm'}
    # detected by load_any_descriptions too
    assert load_any_descriptions(path, ['teddy bear', 'hot dog', 'cat']) == got


def test_post_llm_mismatch_lists_all(tmp_path):
    path = _post_llm(tmp_path, ['cat', 'dog', 'hotdog'])
    with pytest.raises(DescriptionError) as e:
        read_post_llm(path, ['dog', 'cat', 'hot dog'])
    msg = str(e.value)
    for part in ("key \"0\": node_name 'cat' != class 'dog'",
                 "key \"1\": node_name 'dog' != class 'cat'",
                 "key \"2\": node_name 'hotdog' != class 'hot dog'"):
        assert part in msg
    with pytest.raises(DescriptionError, match=r'missing \[\'3\'\]'):
        read_post_llm(path, ['cat', 'dog', 'hotdog', 'cow'])
